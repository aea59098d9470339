// Review new APIs: what the auto-onboard runs of one connection found and held for approval.
// Approve (all stages or some) makes an application; Dismiss keeps an API from being offered
// again until its stages or deployments change.

import { ApiError, api, isAbort } from "../api.js";
import {
  announce,
  badge,
  busy,
  confirmDialog,
  emptyState,
  formatDateTime,
  h,
  loading,
  nextId,
  notice,
  plural,
  problemBox,
  regionName,
  replace,
} from "../dom.js";
import { APPROVAL_HELP, organizationDirectory, reviewHash } from "./scope.js";

const TABS = [
  ["pending", "To review"],
  ["dismissed", "Dismissed"],
  ["approved", "Approved"],
];
const PAGE_SIZE = 50;
const ENDPOINT_TYPES = { REGIONAL: "Regional", EDGE: "Edge-optimized", PRIVATE: "Private" };

export async function candidatesView(container, context) {
  const connectionId = context.params[0];
  const status = TABS.some(([key]) => key === context.query.get("status")) ? context.query.get("status") : "pending";
  context.setTitle("Review new APIs");
  const headMeta = h("p", { class: "muted" }, "Loading the connection…");
  const scheduleNote = h("div");
  const messages = h("div", { "aria-live": "polite" });
  const list = h("div", { class: "stack" }, loading("Loading new APIs…"));
  const tabs = h(
    "nav",
    { class: "tabs", "aria-label": "Which APIs" },
    TABS.map(([key, text]) => h("a", { href: reviewHash(connectionId, key), "aria-current": key === status ? "page" : undefined, dataset: { status: key } }, text)),
  );
  replace(
    container,
    h("p", { class: "crumbs" }, h("a", { href: "#/integrations" }, "Integrations"), " / "),
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Review new APIs"), headMeta)),
    scheduleNote,
    tabs,
    messages,
    list,
  );

  let connection;
  try {
    connection = await api(`/connections/${connectionId}`, { signal: context.signal });
  } catch (error) {
    if (isAbort(error)) return;
    replace(headMeta);
    replace(list, problemBox(error));
    return;
  }
  replace(headMeta, `${connection.name} · APIs its auto-onboard runs found and held for approval.`);
  if (!connection.auto_onboard || !connection.auto_onboard.approval) {
    // Candidates stay reviewable after approval mode is turned off; say why no new ones come.
    api(`/connections/${connectionId}/auto-onboard`, { signal: context.signal })
      .then((schedule) => {
        if (!schedule.approval) replace(scheduleNote, notice("info", "Approval is off for this connection", h("p", {}, "New APIs are onboarded right away. Turn on “Ask before onboarding” in its Auto-Onboard schedule to review them first.")));
      })
      .catch((error) => {
        if (error instanceof ApiError && error.status === 404) replace(scheduleNote, notice("info", "This connection has no auto-onboard schedule", h("p", {}, APPROVAL_HELP)));
      });
  }
  const directory = await organizationDirectory(connection, context.signal);
  let cursor = null;
  let shown = 0;

  async function loadPage(more) {
    try {
      const page = await api(`/connections/${connectionId}/candidates`, { query: { status, limit: PAGE_SIZE, cursor }, signal: context.signal });
      cursor = page.next_cursor;
      const cards = page.items.map((candidate) => candidateCard(candidate));
      shown += cards.length;
      if (!more) {
        if (!cards.length) {
          replace(list, emptyList());
          return;
        }
        replace(list, h("ul", { class: "candidate-list", "aria-label": TABS.find(([key]) => key === status)[1] }, cards));
      } else {
        list.querySelector(".candidate-list").append(...cards);
        list.querySelector(".more").remove();
      }
      if (cursor) {
        const moreButton = h("button", { type: "button", class: "button" }, "Show more");
        moreButton.addEventListener("click", () => busy(moreButton, "Loading…", () => loadPage(true)));
        list.append(h("div", { class: "actions more" }, moreButton));
      }
    } catch (error) {
      if (!isAbort(error)) replace(list, problemBox(error));
    }
  }

  function emptyList() {
    if (status === "dismissed") return emptyState("No dismissed API", "APIs you dismiss show here.");
    if (status === "approved") return emptyState("No approved API yet", "APIs you approve become applications and show here.");
    return emptyState("Nothing waiting for review", "New APIs the next runs find in scope will wait here.", h("a", { class: "button", href: "#/integrations" }, "Back to Integrations"));
  }

  function accountLabel(accountId) {
    const account = directory.accounts.get(accountId);
    return account && account.name ? [account.name, " ", h("span", { class: "mono muted" }, accountId)] : [h("span", { class: "mono" }, accountId)];
  }

  function candidateCard(candidate) {
    const headingId = nextId("candidate");
    const outcome = h("div", { "aria-live": "polite" });
    const tags = Object.entries(candidate.tags || {});
    const stages = candidate.stages || [];
    const stageBoxes = [];
    const stageList = h(
      "ul",
      { class: "instance-list stage-list" },
      stages.map((stage) => {
        const urls = stage.instance_urls || [];
        let control = null;
        if (candidate.status === "pending") {
          const id = nextId("stage");
          control = h("input", { type: "checkbox", id, value: stage.name, checked: true, name: `stages-${headingId}` });
          stageBoxes.push(control);
          return h("li", {}, h("div", { class: "choice choice-inline" }, control, h("label", { for: id }, h("span", { class: "mono" }, stage.name))), urls.map((url) => h("span", { class: "url small" }, url)));
        }
        return h("li", {}, h("span", { class: "mono strong" }, stage.name), urls.map((url) => h("span", { class: "url small" }, url)));
      }),
    );
    const card = h(
      "li",
      { class: "card stack candidate", "aria-labelledby": headingId, dataset: { candidateId: candidate.id, status: candidate.status } },
      h(
        "div",
        { class: "card-head" },
        h("div", {}, h("h2", { id: headingId }, candidate.name), h("p", { class: "muted small" }, `Found ${formatDateTime(candidate.found_at)}`, candidate.dismissed_at ? ` · dismissed ${formatDateTime(candidate.dismissed_at)}` : "")),
        candidate.endpoint_type === "PRIVATE" ? badge("Private", "private") : null,
      ),
      h(
        "dl",
        { class: "facts" },
        h("div", {}, h("dt", {}, "Account"), h("dd", { class: "candidate-account" }, accountLabel(candidate.account_id))),
        h("div", {}, h("dt", {}, "Region"), h("dd", {}, candidate.region, regionName(candidate.region) ? h("span", { class: "muted" }, ` ${regionName(candidate.region)}`) : null)),
        h("div", {}, h("dt", {}, "API"), h("dd", {}, h("span", { class: "mono" }, candidate.api_id), ` · ${candidate.protocol} · ${ENDPOINT_TYPES[candidate.endpoint_type] || candidate.endpoint_type}`)),
        h(
          "div",
          {},
          h("dt", {}, "Tags"),
          h("dd", {}, tags.length ? h("ul", { class: "tag-list candidate-tags", "aria-label": "Tags" }, tags.map(([key, value]) => h("li", {}, badge(`${key}=${value}`, "neutral")))) : h("span", { class: "muted" }, "No tags")),
        ),
      ),
      h(
        "fieldset",
        { class: "choices stages", name: `stages-${headingId}` },
        h("legend", {}, candidate.status === "pending" ? `Stages to onboard (${stages.length})` : plural(stages.length, "stage")),
        stages.length ? stageList : h("p", { class: "muted" }, "No deployed stage."),
      ),
      outcome,
    );

    if (candidate.status === "approved" && candidate.application_id) {
      card.append(h("div", { class: "actions" }, h("a", { class: "button button-small", href: `#/applications/${candidate.application_id}` }, "Open the application")));
    }
    if (candidate.status !== "pending") return card;

    const approve = h("button", { type: "button", class: "button button-primary button-small" }, "Approve");
    const dismiss = h("button", { type: "button", class: "button button-small button-danger-ghost" }, "Dismiss");
    const actions = h("div", { class: "actions" }, approve, dismiss);
    card.append(actions);

    approve.addEventListener("click", () =>
      busy(approve, "Onboarding…", async () => {
        replace(outcome);
        const chosen = stageBoxes.filter((box) => box.checked).map((box) => box.value);
        if (stages.length && !chosen.length) {
          replace(outcome, h("p", { class: "field-error", role: "alert" }, "Choose at least one stage to onboard."));
          stageBoxes[0].focus();
          return;
        }
        // Every stage: the service's default (every stage it was held with).
        const body = chosen.length === stages.length ? undefined : { stages: chosen };
        try {
          const application = await api(`/candidates/${candidate.id}/approve`, { method: "POST", body, signal: context.signal });
          card.dataset.status = "approved";
          actions.remove();
          for (const box of stageBoxes) box.disabled = true;
          const link = h("a", { href: `#/applications/${application.id}` }, "Open the application");
          replace(outcome, notice("success", `${candidate.name} onboarded`, h("p", {}, `It is an application now, with ${plural(application.instances ? application.instances.length : chosen.length, "instance")}. `, link)));
          announce(`${candidate.name} onboarded`);
          link.focus();
        } catch (error) {
          if (!isAbort(error)) replace(outcome, conflictOrProblem(error));
        }
      }),
    );
    dismiss.addEventListener("click", async () => {
      const confirmed = await confirmDialog({
        title: `Dismiss ${candidate.name}?`,
        text: "It will not be offered again until its stages or deployments change. Nothing is onboarded.",
        confirmLabel: "Dismiss",
      });
      if (!confirmed) return;
      await busy(dismiss, "Dismissing…", async () => {
        replace(outcome);
        try {
          await api(`/candidates/${candidate.id}/dismiss`, { method: "POST", signal: context.signal });
          const next = card.nextElementSibling || card.previousElementSibling;
          card.remove();
          shown -= 1;
          replace(
            messages,
            notice("success", `${candidate.name} dismissed`, h("p", {}, "It shows under ", h("a", { href: reviewHash(connectionId, "dismissed") }, "Dismissed"), " and is offered again only if its stages or deployments change.")),
          );
          announce(`${candidate.name} dismissed`);
          if (!shown && !cursor) replace(list, emptyList());
          const focusTarget = next ? next.querySelector("button") : messages.querySelector("a");
          if (focusTarget) focusTarget.focus();
        } catch (error) {
          if (!isAbort(error)) replace(outcome, conflictOrProblem(error));
        }
      });
    });
    return card;
  }

  function conflictOrProblem(error) {
    if (error instanceof ApiError && error.code === "candidate_dismissed") {
      return notice("info", "Already dismissed", h("p", {}, "Someone dismissed this API meanwhile. ", h("a", { href: reviewHash(connectionId, "dismissed") }, "See dismissed APIs")));
    }
    if (error instanceof ApiError && error.code === "candidate_approved") {
      return notice("info", "Already approved", h("p", {}, "Someone approved this API meanwhile. ", h("a", { href: reviewHash(connectionId, "approved") }, "See approved APIs")));
    }
    return problemBox(error);
  }

  await loadPage(false);
}
