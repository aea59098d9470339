// Add Application: source → connection → account (central role) → region → API → instances.

import { ApiError, api, isAbort, listAll } from "../api.js";
import {
  CREDENTIAL_TYPES,
  VPC_ONLY_TEXT,
  append,
  badge,
  busy,
  connectionIdentity,
  connectionStatus,
  emptyState,
  field,
  formatDate,
  h,
  loading,
  nextId,
  notice,
  plural,
  problemBox,
  reachableFrom,
  regionName,
  replace,
  select,
} from "../dom.js";
import { connectionForm } from "./connection-form.js";

/** The account step's first choice for a central role: search every account it reaches. */
const ALL_ACCOUNTS = { all: true, account_id: null, name: "All accounts", reachable: true };

const STEPS = [
  ["source", "Source"],
  ["connection", "Connection"],
  ["account", "Account"],
  ["region", "Region"],
  ["api", "API"],
  ["instances", "Instances"],
];

export function wizardView(container, context) {
  context.setTitle("Add application");
  // account: one of the organization's accounts, or ALL_ACCOUNTS; accounts: names by id.
  const state = { step: "source", source: null, connection: null, account: null, region: null, api: null, accounts: new Map() };
  const stepper = h("ol", { class: "stepper", "aria-label": "Steps" });
  const summary = h("dl", { class: "selection" });
  const body = h("div", { class: "wizard-body" });
  let started = false;

  replace(
    container,
    h(
      "div",
      { class: "page-head" },
      h("div", {}, h("h1", {}, "Add application"), h("p", { class: "muted" }, "Find an API in your AWS accounts and onboard it for security testing.")),
    ),
    stepper,
    summary,
    body,
  );

  function steps() {
    const central = state.connection && state.connection.credential_type === "central_role";
    return STEPS.filter(([key]) => key !== "account" || central || !state.connection);
  }

  function go(step) {
    state.step = step;
    const list = steps();
    const index = list.findIndex(([key]) => key === step);
    replace(
      stepper,
      list.map(([key, label], i) => {
        const status = i < index ? "done" : i === index ? "current" : "todo";
        const text = [h("span", { class: "step-number", "aria-hidden": "true" }, String(i + 1)), h("span", { class: "step-label" }, label)];
        return h(
          "li",
          { class: `step step-${status}`, "aria-current": status === "current" ? "step" : undefined },
          status === "done"
            ? h("button", { type: "button", class: "step-button", onClick: () => go(key), "aria-label": `Back to step ${i + 1}: ${label}` }, text)
            : h("span", { class: "step-button" }, text),
        );
      }),
    );
    renderSummary();
    replace(body);
    RENDER[step]();
    const heading = body.querySelector("h2");
    if (heading && started) {
      // Keyboard and screen-reader users land on the new step, not on a vanished button.
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
    started = true;
  }

  function renderSummary() {
    const rows = [];
    if (state.connection) rows.push(["Connection", state.connection.name]);
    if (state.account) rows.push(["Account", state.account.all ? "All accounts" : `${state.account.name || ""} ${state.account.account_id}`.trim()]);
    if (state.region) rows.push(["Region", state.region]);
    if (state.api) rows.push(["API", state.api.name]);
    summary.hidden = rows.length === 0;
    replace(summary, rows.map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value))));
  }

  function previous(step) {
    const list = steps();
    const index = list.findIndex(([key]) => key === step);
    return index > 0 ? list[index - 1][0] : null;
  }

  function stepCard(title, description, ...content) {
    return h("section", { class: "card stack step-card" }, h("h2", {}, title), description ? h("p", { class: "muted" }, description) : null, content);
  }

  function backButton(step) {
    const target = previous(step);
    return target ? h("button", { type: "button", class: "button button-ghost", onClick: () => go(target) }, "Back") : null;
  }

  /** A form whose radio group chooses one item; Enter or Continue submits. */
  function choiceForm({ legend, name, items, render, isDisabled, initial, onChoose, step, extra }) {
    const form = h("form", { class: "stack", novalidate: true });
    const error = h("div");
    const radios = items.map((item, index) => {
      const id = nextId(name);
      const disabled = isDisabled ? isDisabled(item) : false;
      return h(
        "div",
        { class: `choice choice-card${disabled ? " choice-disabled" : ""}` },
        h("input", { type: "radio", name, id, value: String(index), disabled, checked: !disabled && initial ? initial(item) : false }),
        h("label", { for: id }, render(item)),
      );
    });
    append(
      form,
      h("fieldset", { class: "choices" }, h("legend", { class: "visually-hidden" }, legend), radios),
      extra || null,
      error,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "button button-primary" }, "Continue"), backButton(step)),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const checked = form.querySelector(`input[name="${name}"]:checked`);
      if (!checked) {
        replace(error, notice("error", `Choose ${legend.toLowerCase()} first.`));
        const first = form.querySelector(`input[name="${name}"]:not(:disabled)`);
        if (first) first.focus();
        return;
      }
      onChoose(items[Number(checked.value)]);
    });
    return form;
  }

  async function loadInto(slot, text, work) {
    replace(slot, loading(text));
    try {
      await work();
    } catch (error) {
      if (isAbort(error)) return;
      replace(slot, problemBox(error), h("div", { class: "actions" }, h("button", { type: "button", class: "button", onClick: () => loadInto(slot, text, work) }, "Try Again")));
    }
  }

  const RENDER = {
    source() {
      const form = choiceForm({
        legend: "A source",
        name: "source",
        step: "source",
        items: [{ id: "aws_api_gateway" }],
        initial: () => true,
        render: () => [
          h("span", { class: "choice-title" }, "Amazon API Gateway"),
          h("span", { class: "choice-help" }, "REST, HTTP and WebSocket APIs in one or many AWS accounts and regions."),
        ],
        onChoose(item) {
          state.source = item.id;
          go("connection");
        },
      });
      body.append(stepCard("Choose a source", "Where the API you want to test is published.", form));
    },

    connection() {
      const slot = h("div", { class: "stack" });
      body.append(stepCard("Choose a connection", "The AWS credentials Onboarder uses to find your APIs.", slot));
      loadInto(slot, "Loading connections…", async () => {
        const connections = await listAll("/connections", { signal: context.signal });
        const chosen = (connection) => {
          state.connection = connection;
          state.account = null;
          state.region = null;
          state.api = null;
          go(connection.credential_type === "central_role" ? "account" : "region");
        };
        const newForm = () =>
          connectionForm({
            signal: context.signal,
            heading: "New connection",
            onCreated: chosen,
            onCancel: connections.length ? () => replace(slot, list) : undefined,
          });
        if (!connections.length) {
          replace(slot, newForm(), h("div", { class: "actions" }, backButton("connection")));
          return;
        }
        const list = h(
          "div",
          { class: "stack" },
          choiceForm({
            legend: "A connection",
            name: "connection",
            step: "connection",
            items: connections,
            initial: (c) => state.connection && c.id === state.connection.id,
            render: (c) => [
              h("span", { class: "choice-title" }, c.name, " ", connectionStatus(c)),
              h("span", { class: "choice-help" }, (CREDENTIAL_TYPES[c.credential_type] || {}).short || c.credential_type, " · ", h("span", { class: "mono" }, connectionIdentity(c))),
            ],
            onChoose: chosen,
            extra: h(
              "p",
              {},
              h(
                "button",
                {
                  type: "button",
                  class: "button",
                  onClick: () => {
                    const form = newForm();
                    replace(slot, form);
                    form.querySelector('input[name="name"]').focus();
                  },
                },
                "+ New Connection",
              ),
            ),
          }),
        );
        replace(slot, list);
      });
    },

    account() {
      const slot = h("div", { class: "stack" });
      body.append(stepCard("Choose an account", `Accounts of the organization reached through ${state.connection.name}.`, slot));
      loadInto(slot, "Listing the organization's accounts…", async () => {
        const accounts = await listAll(`/connections/${state.connection.id}/accounts`, { signal: context.signal });
        state.accounts = new Map(accounts.filter((a) => a.name).map((a) => [a.account_id, a.name]));
        if (!accounts.length) {
          replace(slot, emptyState("No accounts", "The central role lists no account in this organization."), h("div", { class: "actions" }, backButton("account")));
          return;
        }
        replace(
          slot,
          choiceForm({
            legend: "An account",
            name: "account",
            step: "account",
            items: [ALL_ACCOUNTS, ...accounts],
            isDisabled: (a) => !a.reachable,
            initial: (a) => state.account && (a.all ? Boolean(state.account.all) : a.account_id === state.account.account_id),
            render: (a) =>
              a.all
                ? [
                    h("span", { class: "choice-title" }, "All accounts"),
                    h("span", { class: "choice-help" }, `Search every account the central role reaches (${plural(accounts.filter((x) => x.reachable).length, "account")}).`),
                  ]
                : [
              h("span", { class: "choice-title" }, a.name || a.account_id, " ", a.reachable ? null : badge(a.error ? a.error.code : "unreachable", "warn")),
              h("span", { class: "choice-help mono" }, a.account_id, a.status && a.status !== "ACTIVE" ? ` · ${a.status}` : ""),
              !a.reachable && a.error && a.error.hint ? h("span", { class: "choice-help" }, a.error.hint) : null,
                  ],
            onChoose(account) {
              state.account = account;
              state.region = null;
              state.api = null;
              go("region");
            },
          }),
        );
      });
    },

    region() {
      const slot = h("div", { class: "stack" });
      const counts = h("div", { class: "stack" });
      body.append(stepCard("Choose a region", "The AWS region the API is deployed in.", slot, counts));
      regionSummary(counts);
      loadInto(slot, "Checking which regions can be listed…", async () => {
        const query = state.account && !state.account.all ? { account_id: state.account.account_id } : {};
        const answer = await api(`/connections/${state.connection.id}/regions`, { query, signal: context.signal });
        const regions = answer.items;
        const options = regions.map((r) => {
          const name = regionName(r.region);
          const note = r.enabled === false ? " (not enabled)" : "";
          return [r.region, `${r.region}${name ? ` — ${name}` : ""}${note}`];
        });
        const control = select("region", [["", "Select a region…"], ...options], { required: true, value: state.region || "" });
        for (const option of control.options) {
          const region = regions.find((r) => r.region === option.value);
          if (region && region.enabled === false) option.disabled = true;
        }
        const error = h("div");
        const form = h(
          "form",
          { class: "stack", novalidate: true },
          field("Region", control, { help: `${regions.filter((r) => r.enabled !== false).length} regions can be listed with this connection.` }),
          error,
          h("div", { class: "actions" }, h("button", { type: "submit", class: "button button-primary" }, "Continue"), backButton("region")),
        );
        form.addEventListener("submit", (event) => {
          event.preventDefault();
          if (!control.value) {
            replace(error, notice("error", "Choose a region first."));
            control.focus();
            return;
          }
          state.region = control.value;
          state.api = null;
          go("api");
        });
        replace(slot, form);
        control.focus();
      });
    },

    api() {
      const slot = h("div", { class: "stack" });
      const where = state.account && !state.account.all ? `${state.account.name || state.account.account_id}, ${state.region}` : state.account ? `every account, ${state.region}` : state.region;
      body.append(stepCard("Choose an API", `APIs found in ${where}.`, slot));
      const load = (refresh) =>
        loadInto(slot, "Discovering APIs…", async () => {
          const query = { region: state.region, account_id: state.account && !state.account.all ? state.account.account_id : undefined, limit: 500, refresh: refresh ? "true" : undefined };
          const page = await api(`/connections/${state.connection.id}/apis`, { query, signal: context.signal });
          renderApis(slot, page, () => load(true));
        });
      load(false);
    },

    instances() {
      const chosen = state.api;
      const groups = [];
      const stageName = (url) => {
        const stage = chosen.stages.find((s) => s.instance_urls.includes(url));
        return stage ? stage.name : null;
      };
      for (const stage of chosen.stages) {
        groups.push([
          `Stage ${stage.name}`,
          stage.created_at ? `created ${formatDate(stage.created_at)}` : "",
          stage.instance_urls.map((url) => {
            const vpce = url.match(/-(vpce-[0-9a-f]+)\./);
            return { url, note: vpce ? `Private · through ${vpce[1]}` : chosen.endpoint_type === "PRIVATE" ? "Private · execute-api (from a VPC with private DNS)" : "Default endpoint" };
          }),
        ]);
      }
      const domains = (chosen.custom_domains && chosen.custom_domains.length ? chosen.custom_domains : chosen.custom_domain_urls.map((url) => ({ url, stage: stageName(url) }))).map((d) => ({
        url: d.url,
        note: [
          d.stage ? `Custom domain → stage ${d.stage}` : "Custom domain",
          d.reachable_from === "vpc_only" ? "private: only from the customer's VPC" : null,
          d.routing_rule_id ? "routing rule" : null,
          // A routing rule that matches headers reaches the stage only when they are sent.
          d.required_headers && Object.keys(d.required_headers).length
            ? `send ${Object.entries(d.required_headers).map(([k, v]) => `${k}: ${v}`).join(", ")}`
            : null,
        ]
          .filter(Boolean)
          .join(" · "),
      }));
      if (domains.length) groups.push(["Custom domains", "", domains]);

      const form = h("form", { class: "stack", novalidate: true });
      const result = h("div");
      const nameInput = h("input", { type: "text", name: "name", value: chosen.name, maxlength: 200, autocomplete: "off" });
      const onboard = h("button", { type: "submit", class: "button button-primary" }, "Onboard API");

      const fieldsets = groups.map(([legend, note, urls]) =>
        h(
          "fieldset",
          { class: "choices instance-group" },
          h("legend", {}, legend, note ? h("span", { class: "muted" }, ` · ${note}`) : null),
          urls.map(({ url, note: urlNote }) => {
            const id = nextId("instance");
            return h(
              "div",
              { class: "choice" },
              h("input", { type: "checkbox", name: "instance_urls", id, value: url }),
              h("label", { for: id }, h("span", { class: "choice-title mono url" }, url), h("span", { class: "choice-help" }, urlNote)),
            );
          }),
        ),
      );
      // A PRIVATE API answers only inside the customer's VPC: said before anyone picks a URL.
      const vpcOnly = reachableFrom(chosen, chosen.endpoint_type) === "vpc_only";
      append(
        form,
        vpcOnly && fieldsets.length
          ? h(
              "div",
              { class: "alert alert-private vpc-only-note", role: "note" },
              h("p", { class: "alert-title" }, "These URLs are reachable only from inside the customer's VPC"),
              h("p", {}, "This is a private API: it answers only through the VPC endpoints of the customer's VPC, so a scanner outside that VPC cannot reach these URLs. Security tests have to run from inside the VPC."),
            )
          : null,
        fieldsets.length ? fieldsets : emptyState("No instance URLs", "This API has no deployed stage and no custom domain."),
        field("Application name", nameInput, { help: "Defaults to the API's name." }),
        result,
        h("div", { class: "actions" }, onboard, backButton("instances")),
      );
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const urls = [...form.querySelectorAll('input[name="instance_urls"]:checked')].map((input) => input.value);
        if (!urls.length) {
          replace(result, notice("error", "Choose at least one instance URL to test."));
          const first = form.querySelector('input[name="instance_urls"]');
          if (first) first.focus();
          return;
        }
        replace(result, loading("Onboarding: reading the API and its definition from AWS…"));
        await busy(onboard, "Onboarding…", async () => {
          try {
            const application = await api("/applications", {
              method: "POST",
              signal: context.signal,
              body: {
                connection_id: state.connection.id,
                account_id: chosen.account_id,
                region: chosen.region,
                api_id: chosen.api_id,
                instance_urls: urls,
                name: nameInput.value.trim() || undefined,
              },
            });
            context.navigate(`#/applications/${application.id}?onboarded=1`);
          } catch (error) {
            if (isAbort(error)) return;
            const existing = error instanceof ApiError && error.status === 409 ? error.problem.application_id : null;
            replace(
              result,
              problemBox(error),
              existing
                ? h(
                    "p",
                    { class: "actions" },
                    h("a", { class: "button", href: `#/applications/${existing}?add=instances` }, "Add Instances"),
                    h("a", { href: `#/applications/${existing}` }, "Open the existing application"),
                  )
                : null,
            );
          }
        });
      });
      body.append(
        stepCard(
          `Choose instances of ${chosen.name}`,
          "Each selected URL becomes an instance of the application that security tests run against.",
          h("p", {}, badge(chosen.protocol, "info"), " ", badge(chosen.endpoint_type, chosen.endpoint_type === "PRIVATE" ? "private" : "neutral"), " ", h("span", { class: "mono muted" }, chosen.api_id)),
          form,
        ),
      );
    },
  };

  function renderApis(slot, page, refresh) {
    const apis = page.items;
    const problems = [];
    for (const error of page.errors || []) {
      problems.push(
        h(
          "li",
          {},
          h("strong", {}, `${error.account_id}${error.region ? ` / ${error.region}` : ""}: `),
          error.message,
          error.hint ? h("span", { class: "hint" }, ` What to do: ${error.hint}`) : null,
        ),
      );
    }
    const warnings = problems.length ? notice("warn", "Some places could not be listed", h("ul", {}, problems)) : null;
    const notEnabled = (page.regions_not_enabled || []).length
      ? notice("info", "Region not enabled", h("p", {}, `Not enabled in: ${page.regions_not_enabled.map((r) => r.account_id).join(", ")}`))
      : null;
    const denied = page.regions_denied_by_policy || [];
    const deniedNotice = denied.length
      ? notice("info", "Region denied by your organization", h("p", {}, `A policy of the organization (a service control policy or Control Tower's region deny) denies API Gateway here for: ${denied.map((r) => r.account_id).join(", ")}. Nothing can be listed there.`))
      : null;
    const refreshButton = h("button", { type: "button", class: "button button-ghost", onClick: refresh }, "Refresh From AWS");
    if (!apis.length) {
      replace(slot, warnings, notEnabled, deniedNotice, emptyState("No APIs here", "Nothing is deployed in this account and region. Try another region.", backButton("api"), refreshButton));
      return;
    }
    const filter = h("input", { type: "search", name: "filter", placeholder: "Filter by name or id", autocomplete: "off" });
    const form = choiceForm({
      legend: "An API",
      name: "api",
      step: "api",
      items: apis,
      isDisabled: (a) => Boolean(a.application_id),
      initial: (a) => state.api && a.api_id === state.api.api_id,
      render: (a) => [
        h(
          "span",
          { class: "choice-title" },
          a.name,
          " ",
          badge(a.protocol, "info"),
          " ",
          badge(a.endpoint_type, a.endpoint_type === "PRIVATE" ? "private" : "neutral"),
          reachableFrom(a, a.endpoint_type) === "vpc_only" ? [" ", badge("VPC only", "private", VPC_ONLY_TEXT)] : null,
          a.application_id ? [" ", badge("Onboarded", "ok")] : null,
        ),
        a.description ? h("span", { class: "choice-help" }, a.description) : null,
        h(
          "span",
          { class: "choice-help" },
          h("span", { class: "mono" }, a.api_id),
          ` · created ${formatDate(a.created_at)} · ${plural(a.stages.length, "stage")}`,
          a.custom_domain_urls.length ? ` · ${plural(a.custom_domain_urls.length, "custom domain")}` : "",
          a.vpc_endpoint_ids.length ? ` · ${plural(a.vpc_endpoint_ids.length, "VPC endpoint")}` : "",
        ),
        state.account && state.account.all ? h("span", { class: "choice-help" }, "Account ", accountLabel(a.account_id)) : null,
        a.application_id
          ? h(
              "span",
              { class: "choice-links" },
              h("a", { class: "choice-link", href: `#/applications/${a.application_id}` }, "Open Application"),
              h("a", { class: "choice-link", href: `#/applications/${a.application_id}?add=instances`, "aria-label": `Add Instances to ${a.name}` }, "Add Instances"),
            )
          : null,
      ],
      onChoose(chosen) {
        state.api = chosen;
        go("instances");
      },
    });
    filter.addEventListener("input", () => {
      const needle = filter.value.trim().toLowerCase();
      for (const [index, choice] of [...form.querySelectorAll(".choice")].entries()) {
        const item = apis[index];
        choice.hidden = Boolean(needle) && !`${item.name} ${item.api_id}`.toLowerCase().includes(needle);
      }
    });
    filter.addEventListener("keydown", (event) => {
      if (event.key === "Enter") event.preventDefault();
    });
    replace(
      slot,
      warnings,
      notEnabled,
      deniedNotice,
      h("div", { class: "toolbar" }, apis.length > 5 ? field("Filter", filter) : null, h("p", { class: "muted" }, plural(apis.length, "API")), refreshButton),
      form,
      page.next_cursor ? notice("info", "More APIs exist than shown here", h("p", {}, "Narrow by account or use the filter.")) : null,
    );
  }

  function accountLabel(accountId) {
    const name = state.accounts.get(accountId);
    return name ? [name, " ", h("span", { class: "mono" }, `(${accountId})`)] : h("span", { class: "mono" }, accountId);
  }

  /** "APIs by region": where the connection (or the chosen account) has APIs, counted from
   * GET /connections/{id}/api-summary; a choice sets the region, and the account, to search. */
  function regionSummary(slot) {
    const headingId = nextId("api-summary");
    const list = h("div", { class: "stack" }, loading("Counting the APIs in every region…"));
    replace(
      slot,
      h(
        "section",
        { class: "panel stack api-summary", "aria-labelledby": headingId },
        h("h3", { id: headingId }, "APIs by region"),
        h("p", { class: "muted small" }, "Not sure where the API is? Every region that has APIs, with how many; choose one to search it."),
        list,
      ),
    );
    const one = state.account && !state.account.all ? state.account.account_id : undefined;
    const choose = (region, account) => {
      state.region = region;
      if (account) state.account = { account_id: account, name: state.accounts.get(account) || null, reachable: true };
      state.api = null;
      go("api");
    };
    api(`/connections/${state.connection.id}/api-summary`, { query: { account_id: one }, signal: context.signal })
      .then((answer) => {
        const byRegion = new Map();
        for (const item of answer.items) {
          if (!byRegion.has(item.region)) byRegion.set(item.region, []);
          byRegion.get(item.region).push(item);
        }
        const several = state.account && state.account.all;
        const rows = [...byRegion].map(([region, items]) => {
          const total = items.reduce((sum, item) => sum + item.apis, 0);
          const name = regionName(region);
          return h(
            "li",
            { class: "summary-region", dataset: { region } },
            h(
              "button",
              { type: "button", class: "button summary-choice", onClick: () => choose(region, null) },
              h("span", { class: "strong" }, region),
              name ? h("span", { class: "muted" }, ` ${name}`) : null,
              h("span", { class: "summary-count" }, ` · ${plural(total, "API")}`),
              several && items.length > 1 ? h("span", { class: "muted" }, ` in ${items.length} accounts`) : null,
            ),
            several
              ? h(
                  "ul",
                  { class: "summary-accounts" },
                  items.map((item) =>
                    h(
                      "li",
                      {},
                      h(
                        "button",
                        { type: "button", class: "button button-ghost summary-choice", dataset: { accountId: item.account_id }, onClick: () => choose(region, item.account_id) },
                        accountLabel(item.account_id),
                        ` · ${plural(item.apis, "API")}`,
                      ),
                    ),
                  ),
                )
              : null,
          );
        });
        const errors = answer.errors.length
          ? notice(
              "warn",
              "Some places could not be counted",
              h(
                "ul",
                {},
                answer.errors.map((e) =>
                  h(
                    "li",
                    { class: "summary-error" },
                    h("strong", {}, accountLabel(e.account_id), e.region ? ` / ${e.region}` : "", ": "),
                    e.hint || e.message,
                  ),
                ),
              ),
            )
          : null;
        replace(list, rows.length ? h("ul", { class: "summary-list", "aria-label": "APIs by region" }, rows) : h("p", { class: "muted" }, "No APIs found in any region."), errors);
      })
      .catch((error) => {
        if (!isAbort(error)) replace(list, problemBox(error, { title: "The APIs could not be counted" }));
      });
  }

  go("source");
}
