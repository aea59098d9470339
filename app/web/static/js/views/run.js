// One auto-onboard run of a connection: what it did, where, what it left out and why.

import { listAll, api, isAbort } from "../api.js";
import { badge, cell, formatDate, formatDateTime, h, loading, plural, problemBox, regionName, replace, timeElement } from "../dom.js";
import { excludedAccounts, heldForApproval, organizationDirectory, scopeFacts } from "./scope.js";

const STATUS = {
  queued: ["Queued", "neutral"],
  running: ["Running", "info"],
  succeeded: ["Succeeded", "ok"],
  partial: ["Partial", "warn"],
  failed: ["Failed", "error"],
};
const RESULT_STATUS = {
  ok: ["OK", "ok", "Listed."],
  not_enabled: ["Region not enabled", "neutral", "The account has not enabled this region."],
  denied_by_policy: ["Denied by policy", "neutral", "The organization's policy (an SCP, Control Tower's region deny) denies API Gateway here: not an error."],
  failed: ["Failed", "error", "See the errors below."],
  unreachable: ["Unreachable", "error", "The account or region could not be reached; see the errors below."],
};
const COUNTERS = [
  ["discovered", "Discovered", "APIs found in scope"],
  ["onboarded", "Onboarded", "New applications"],
  ["instances_added", "Instances added", "New stages of applications already onboarded"],
  ["skipped_existing", "Already onboarded", "Skipped: nothing new"],
  ["skipped_out_of_scope", "Out of scope", "Skipped by the schedule's scope"],
  ["skipped_no_stage", "No stage", "Skipped: no deployed stage to onboard"],
];
const LIFECYCLE = [
  ["synced", "Compared with AWS"],
  ["definitions_changed", "Definitions changed"],
  ["retired", "Retired"],
  ["orphaned", "Orphaned"],
  ["restored", "Restored"],
];
const POLL_MS = 1000;

export function runHash(connectionId, runId) {
  return `#/integrations/${connectionId}/runs/${runId}`;
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = window.setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      window.clearTimeout(timer);
      reject(new DOMException("aborted", "AbortError"));
    }, { once: true });
  });
}

function duration(run) {
  if (!run.started_at || !run.finished_at) return null;
  const seconds = Math.max(0, Math.round((new Date(run.finished_at) - new Date(run.started_at)) / 1000));
  if (seconds < 60) return plural(seconds, "second");
  const minutes = Math.floor(seconds / 60);
  return `${plural(minutes, "minute")} ${seconds % 60 ? plural(seconds % 60, "second") : ""}`.trim();
}

function accountLabel(accountId, directory) {
  const account = directory && directory.accounts.get(accountId);
  return [account && account.name ? `${account.name} ` : "", h("span", { class: "mono" }, accountId)];
}

function regionLabel(region) {
  const name = regionName(region);
  return h("span", { title: name || undefined }, region);
}

function section(title, ...body) {
  return h("section", { class: "card stack run-section" }, h("h2", {}, title), body);
}

function facts(run, directory) {
  const item = (term, value, key) => h("div", { dataset: { fact: key } }, h("dt", {}, term), h("dd", {}, value));
  const scopeText = run.scope === "published_after" ? `APIs created on or after ${formatDate(`${run.published_after}T00:00:00`)}` : "All APIs";
  return h(
    "dl",
    { class: "facts run-facts" },
    item("Trigger", run.trigger === "manual" ? "Run Now (manual)" : "Scheduled", "trigger"),
    run.scheduled_for ? item("Scheduled for", timeElement(run.scheduled_for), "scheduled_for") : null,
    item("Queued", timeElement(run.created_at), "created_at"),
    item("Started", run.started_at ? timeElement(run.started_at) : "Not yet", "started_at"),
    item("Finished", run.finished_at ? timeElement(run.finished_at) : "Not yet", "finished_at"),
    duration(run) ? item("Took", duration(run), "duration") : null,
    item("Regions", run.regions && run.regions.length ? run.regions.join(", ") : "Every enabled region of every account", "regions"),
    item("Which APIs", scopeText, "scope"),
    scopeFacts(run, directory).map(([term, text, key]) => (term ? item(term, text, key) : null)),
    run.approval ? item("New APIs", "Held for review, not onboarded", "approval") : null,
  );
}

function counters(run) {
  const errors = (run.errors || []).length;
  return h(
    "div",
    { class: "metrics run-counters" },
    COUNTERS.map(([key, label, help]) =>
      h("div", { class: `metric${key === "onboarded" && run[key] ? " metric-ok" : ""}`, dataset: { counter: key } }, h("div", { class: "metric-value" }, String(run[key] || 0)), h("div", { class: "metric-label" }, label), h("div", { class: "metric-help" }, help)),
    ),
    run.approval || run.held_for_approval
      ? h("div", { class: "metric metric-info", dataset: { counter: "held_for_approval" } }, h("div", { class: "metric-value" }, String(run.held_for_approval || 0)), h("div", { class: "metric-label" }, "Held for review"))
      : null,
    h("div", { class: `metric${errors ? " metric-error" : ""}`, dataset: { counter: "errors" } }, h("div", { class: "metric-value" }, String(errors)), h("div", { class: "metric-label" }, "Errors")),
  );
}

function lifecycle(run) {
  if (!LIFECYCLE.some(([key]) => run[key])) return null;
  return h("p", { class: "run-lifecycle" }, `Applications already onboarded: ${LIFECYCLE.map(([key, label]) => `${label.toLowerCase()} ${run[key] || 0}`).join(", ")}.`);
}

function resultsTable(run, directory) {
  const results = run.results || [];
  if (!results.length) return h("p", { class: "muted" }, run.status === "queued" || run.status === "running" ? "Nothing yet." : "No account or region was listed.");
  return h(
    "table",
    { class: "table table-compact run-results", "aria-label": "Results per account and region" },
    h("thead", {}, h("tr", {}, ["Account", "Region", "Status", "Discovered", "Onboarded", "Instances added", "Skipped", "Failed"].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      results.map((r) => {
        const [text, kind, help] = RESULT_STATUS[r.status] || [r.status, "neutral", ""];
        const skipped = (r.skipped_existing || 0) + (r.skipped_out_of_scope || 0) + (r.skipped_no_stage || 0);
        return h(
          "tr",
          { dataset: { account: r.account_id, region: r.region, status: r.status } },
          cell("Account", accountLabel(r.account_id, directory)),
          cell("Region", regionLabel(r.region)),
          cell("Status", badge(text, kind, help || undefined)),
          cell("Discovered", String(r.discovered)),
          cell("Onboarded", String(r.onboarded)),
          cell("Instances added", String(r.instances_added)),
          cell("Skipped", h("span", { title: `already onboarded ${r.skipped_existing} · out of scope ${r.skipped_out_of_scope} · no stage ${r.skipped_no_stage}` }, String(skipped))),
          cell("Failed", String(r.failed || 0)),
        );
      }),
    ),
  );
}

function skippedTable(run, directory) {
  const skipped = run.skipped || [];
  if (!skipped.length) return null;
  return section(
    `Skipped APIs (${skipped.length})`,
    h(
      "table",
      { class: "table table-compact run-skipped", "aria-label": "Skipped APIs" },
      h("thead", {}, h("tr", {}, ["API", "Account", "Region", "Why"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        skipped.map((s) =>
          h(
            "tr",
            { dataset: { apiId: s.api_id } },
            cell("API", h("strong", {}, s.name), " ", h("span", { class: "mono muted" }, s.api_id)),
            cell("Account", accountLabel(s.account_id, directory)),
            cell("Region", regionLabel(s.region)),
            cell("Why", s.reason),
          ),
        ),
      ),
    ),
  );
}

function errorList(run, directory) {
  const errors = run.errors || [];
  if (!errors.length) return null;
  return section(
    plural(errors.length, "error"),
    h(
      "ul",
      { class: "plain-list run-error-list" },
      errors.map((e) =>
        h(
          "li",
          { class: "alert alert-error", dataset: { code: e.code } },
          h(
            "p",
            { class: "alert-title" },
            e.account_id ? accountLabel(e.account_id, directory) : "The run",
            e.region ? [" / ", regionLabel(e.region)] : null,
            e.api_id ? [" / API ", h("span", { class: "mono" }, e.api_id)] : null,
          ),
          h("p", {}, e.message),
          e.hint ? h("p", { class: "hint" }, h("strong", {}, "What to do: "), e.hint) : null,
          h("p", { class: "alert-meta" }, `code ${e.code}`),
        ),
      ),
    ),
  );
}

async function applicationsOf(run, connectionId, signal) {
  const ids = run.application_ids || [];
  if (!ids.length) return new Map();
  // One list of the connection's applications, not one request per id.
  const items = await listAll("/applications", { query: { connection_id: connectionId }, signal });
  return new Map(items.map((application) => [application.id, application]));
}

function applicationsSection(run, found) {
  const ids = run.application_ids || [];
  if (!ids.length) return null;
  return section(
    `Applications (${ids.length})`,
    h("p", { class: "muted" }, "Onboarded by this run, or given new stages."),
    h(
      "ul",
      { class: "plain-list run-applications" },
      ids.map((id) => {
        const application = found ? found.get(id) : null;
        if (found && !application) return h("li", { dataset: { applicationId: id } }, h("span", { class: "mono" }, id), h("span", { class: "muted" }, " (deleted since)"));
        return h(
          "li",
          { dataset: { applicationId: id } },
          h("a", { href: `#/applications/${id}` }, application ? application.name : id),
          application && application.source ? h("span", { class: "muted" }, ` · ${application.source.account_id} / ${application.source.region}`) : null,
        );
      }),
    ),
  );
}

export async function runView(container, context) {
  const [connectionId, runId] = context.params;
  const base = `/connections/${connectionId}/auto-onboard/runs/${runId}`;
  context.setTitle("Auto-Onboard Run");
  replace(container, loading("Loading the run…"));
  const [connection, first] = await Promise.all([api(`/connections/${connectionId}`, { signal: context.signal }), api(base, { signal: context.signal })]);
  const directory = { accounts: new Map(), ous: [] };
  let run = first;
  let applications = null;

  const status = h("span", { class: "run-status" });
  const body = h("div", { class: "stack" });
  replace(
    container,
    h(
      "div",
      { class: "stack run-page", dataset: { runId } },
      h("p", { class: "crumbs" }, h("a", { href: "#/integrations" }, "Integrations"), " / ", connection.name, " / Run"),
      h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Auto-Onboard Run"), h("p", { class: "muted" }, `${connection.name} · ${formatDateTime(run.started_at || run.created_at)}`)), status),
      body,
    ),
  );

  function render() {
    const [text, kind] = STATUS[run.status] || [run.status, "neutral"];
    replace(status, badge(text, kind));
    status.dataset.status = run.status;
    const active = run.status === "queued" || run.status === "running";
    replace(
      body,
      active ? loading(run.status === "queued" ? "Queued: waiting for the scheduler…" : "Running: discovering and onboarding APIs…") : null,
      h("section", { class: "card stack" }, facts(run, directory), counters(run), lifecycle(run), heldForApproval(run, connectionId), excludedAccounts(run)),
      applicationsSection(run, applications),
      errorList(run, directory),
      section("Per account and region", resultsTable(run, directory)),
      skippedTable(run, directory),
    );
  }

  function enrich() {
    const waits = [];
    if ((run.application_ids || []).length) {
      waits.push(
        applicationsOf(run, connectionId, context.signal).then((found) => {
          applications = found;
        }),
      );
    }
    if (connection.credential_type === "central_role" && !directory.accounts.size) {
      waits.push(
        organizationDirectory(connection, context.signal).then((found) => {
          directory.accounts = found.accounts;
          directory.ous = found.ous;
        }),
      );
    }
    if (!waits.length) return;
    Promise.all(waits)
      .then(() => {
        if (!context.signal.aborted) render();
      })
      .catch((error) => {
        if (!isAbort(error)) body.append(problemBox(error, { title: "The applications' names could not be loaded" }));
      });
  }

  render();
  enrich();
  while (run.status === "queued" || run.status === "running") {
    await sleep(POLL_MS, context.signal);
    run = await api(base, { signal: context.signal });
    render();
    if (run.status !== "queued" && run.status !== "running") enrich();
  }
}
