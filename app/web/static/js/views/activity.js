// Activity: the tenant's event feed, newest first, followed while the page is open.
//
// The feed is read oldest first with a cursor that never ends (`next_cursor` is where new
// events will appear). The page starts at its end (`cursor=latest`: the last events), keeps
// the cursor, and asks again every few seconds; what arrives goes on top.

import { api, isAbort } from "../api.js";
import {
  EVENT_TYPES,
  announce,
  emptyState,
  eventTypeBadge,
  eventTypeLabel,
  field,
  formatRelative,
  h,
  loading,
  notice,
  plural,
  problemBox,
  replace,
  select,
  timeElement,
} from "../dom.js";

const PAGE_LIMIT = 500;
// Pages read at once (on opening, and per poll while a long feed is caught up with).
const MAX_PAGES = 20;
// Events kept on the page: the most recent ones.
const SHOWN = 200;
const POLL_MS = 5000;
const RETRY_MS = 15000;

export async function activityView(container, context) {
  context.setTitle("Activity");
  const { signal } = context;
  const wanted = context.query.get("type") || "";
  const type = EVENT_TYPES[wanted] ? wanted : "";

  const typeSelect = select("type", [["", "All types"], ...Object.entries(EVENT_TYPES).map(([value, [label]]) => [value, label])], { value: type });
  const form = h(
    "form",
    { class: "filters filters-single card", role: "search", "aria-label": "Filter activity", novalidate: true },
    field("Type", typeSelect),
    h(
      "div",
      { class: "actions filters-actions" },
      h("button", { type: "submit", class: "button" }, "Apply filter"),
      type ? h("a", { class: "button button-ghost", href: "#/activity" }, "Clear") : null,
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = typeSelect.value;
    context.navigate(chosen ? `#/activity?type=${encodeURIComponent(chosen)}` : "#/activity");
  });

  const status = h("p", { class: "muted small feed-status" });
  const problem = h("div");
  const list = h("ol", { class: "event-list", "aria-label": "Events" });
  const results = h("div", { class: "stack" }, loading("Reading the activity feed…"));
  replace(
    container,
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        {},
        h("h1", {}, "Activity"),
        h("p", { class: "muted" }, "What happened to your inventory, newest first. New events appear here as they happen."),
      ),
      h("a", { class: "button", href: "#/webhooks" }, "Webhooks"),
    ),
    form,
    status,
    problem,
    results,
  );

  const query = type ? { type } : {};
  // The first read starts at the end of the feed (its last events), then follows it.
  let cursor = "latest";
  let timer = null;
  let lastRead = null;

  /** Reads forward from the cursor, up to MAX_PAGES pages; `caughtUp` when the end was reached. */
  async function readForward() {
    const items = [];
    for (let pages = 0; pages < MAX_PAGES; pages += 1) {
      const page = await api("/events", { query: { ...query, limit: PAGE_LIMIT, cursor }, signal });
      items.push(...page.items);
      cursor = page.next_cursor;
      if (page.items.length < PAGE_LIMIT) return { items, caughtUp: true };
    }
    return { items, caughtUp: false };
  }

  function showStatus(caughtUp) {
    lastRead = new Date().toISOString();
    replace(
      status,
      caughtUp
        ? ["Following the feed: checked ", h("time", { datetime: lastRead, class: "feed-checked" }, formatRelative(lastRead)), "."]
        : "Catching up with a long feed: newer events are still being read…",
    );
  }

  function showList() {
    if (list.children.length) {
      if (!list.isConnected) replace(results, list);
      return;
    }
    replace(
      results,
      type
        ? emptyState(`No “${EVENT_TYPES[type][0]}” event yet`, "Events of this type appear here as they happen.", h("a", { class: "button", href: "#/activity" }, "Show all types"))
        : emptyState("Nothing has happened yet", "Onboarded applications, their changes and auto-onboard runs appear here as they happen.", h("a", { class: "button button-primary", href: "#/applications/new" }, "Add application")),
    );
  }

  /** Newest on top; only the most recent SHOWN stay. */
  function prepend(events, { fresh }) {
    const recent = events.slice(-SHOWN).reverse().map((event) => eventItem(event, fresh));
    list.prepend(...recent);
    while (list.children.length > SHOWN) list.lastElementChild.remove();
  }

  function schedule(delay) {
    window.clearTimeout(timer);
    if (!signal.aborted) timer = window.setTimeout(poll, delay);
  }

  async function poll() {
    if (document.hidden) {
      schedule(POLL_MS);
      return;
    }
    try {
      const { items, caughtUp } = await readForward();
      replace(problem);
      if (items.length) {
        prepend(items, { fresh: true });
        showList();
        announce(plural(items.length, "new event"));
      }
      showStatus(caughtUp);
      schedule(caughtUp ? POLL_MS : 0);
    } catch (error) {
      if (isAbort(error) || signal.aborted) return;
      replace(problem, notice("warn", "The feed could not be read just now", h("p", {}, `${error.message} Onboarder tries again in ${RETRY_MS / 1000} seconds.`)));
      schedule(RETRY_MS);
    }
  }

  signal.addEventListener("abort", () => window.clearTimeout(timer), { once: true });
  // "checked just now" stays true while the page is open.
  const ticker = window.setInterval(() => {
    const checked = status.querySelector(".feed-checked");
    if (checked) checked.textContent = formatRelative(checked.dateTime);
  }, 30_000);
  signal.addEventListener("abort", () => window.clearInterval(ticker), { once: true });

  try {
    const { items, caughtUp } = await readForward();
    prepend(items, { fresh: false });
    showList();
    showStatus(caughtUp);
    schedule(caughtUp ? POLL_MS : 0);
  } catch (error) {
    if (isAbort(error)) return;
    replace(results, problemBox(error, { title: "The activity feed could not be read" }));
  }
}

function eventItem(event, fresh) {
  const data = event.data || {};
  const warning = event.type === "application.exposure_increased";
  const application = data.application || null;
  const change = data.change || null;
  return h(
    "li",
    {
      class: `change event${warning ? " change-warning" : ""}${fresh ? " event-new" : ""}`,
      dataset: { type: event.type, eventId: event.id },
    },
    h(
      "div",
      { class: "change-head" },
      warning ? h("span", { class: "visually-hidden" }, "Warning: ") : null,
      eventTypeBadge(event.type),
      change && change.stage ? h("span", { class: "badge badge-neutral" }, `stage ${change.stage}`) : null,
      h("span", { class: "muted small" }, timeElement(event.occurred_at)),
    ),
    h("p", { class: "change-summary" }, data.summary || eventTypeLabel(event.type)),
    eventDetails(event.type, data),
    data.application_id
      ? h(
          "p",
          { class: "event-links" },
          h("a", { href: `#/applications/${data.application_id}`, class: "event-application" }, application && application.name ? `Open ${application.name}` : "Open the application"),
        )
      : null,
  );
}

/** What the summary does not say already: a failed connection's hint, a run's errors. */
function eventDetails(type, data) {
  if (type === "connection.failed") {
    return h(
      "div",
      { class: "change-details" },
      data.name ? h("p", { class: "muted small" }, "Connection ", h("a", { href: "#/integrations" }, data.name), data.code ? [" · ", h("code", {}, data.code)] : null) : null,
      data.hint ? h("p", { class: "small" }, h("strong", {}, "What to do: "), data.hint) : null,
    );
  }
  if (type === "run.finished" && data.errors) {
    const codes = Array.isArray(data.error_codes) ? data.error_codes : [];
    return h("p", { class: "muted small change-details" }, plural(data.errors, "error"), codes.length ? [": ", codes.map((code, index) => [index ? ", " : "", h("code", {}, code)])] : null);
  }
  return null;
}
