// Webhooks: the URLs Onboarder posts each event to, their signing secrets (shown once), and
// each one's delivery log.

import { ApiError, api, isAbort, listAll } from "../api.js";
import {
  EVENT_TYPES,
  announce,
  badge,
  busy,
  cell,
  clearFieldErrors,
  confirmDialog,
  emptyState,
  eventTypeBadge,
  eventTypeLabel,
  field,
  formatDateTime,
  formatRelative,
  h,
  loading,
  nextId,
  notice,
  plural,
  problemBox,
  replace,
  secretPanel,
  showFieldErrors,
  timeElement,
} from "../dom.js";

const DELIVERIES_PAGE_SIZE = 20;
// A log with a delivery due this soon is read again by itself, so the person sees it land.
const DUE_SOON_MS = 60_000;
const REFRESH_MS = 2000;

const DELIVERY_STATUS = {
  pending: ["Pending", "info"],
  delivered: ["Delivered", "ok"],
  failed: ["Failed", "error"],
};

export async function webhooksView(container, context) {
  context.setTitle("Webhooks");
  const secretSlot = h("div", { "aria-live": "polite" });
  const formSlot = h("div");
  const list = h("div", { class: "stack" }, loading("Loading webhooks…"));
  const addButton = h("button", { type: "button", class: "button button-primary" }, "Add webhook");

  function openForm() {
    replace(secretSlot);
    const form = webhookForm({
      signal: context.signal,
      onCreated: async (created) => {
        replace(formSlot);
        addButton.hidden = false;
        showCreatedSecret(created);
        await load();
        secretSlot.querySelector("input").focus();
      },
      onCancel: () => {
        replace(formSlot);
        addButton.hidden = false;
        addButton.focus();
      },
    });
    replace(formSlot, form);
    addButton.hidden = true;
    form.querySelector('input[name="url"]').focus();
  }
  addButton.addEventListener("click", openForm);

  function showCreatedSecret(created) {
    const done = h("button", { type: "button", class: "button" }, "Done, I kept it");
    done.addEventListener("click", () => {
      replace(secretSlot);
      addButton.focus();
    });
    replace(
      secretSlot,
      h(
        "section",
        { class: "card stack", "aria-label": "Webhook added" },
        notice("success", "Webhook added", h("p", {}, "Onboarder posts events to ", h("span", { class: "mono url" }, created.url), " from now on.")),
        secretPanel({
          title: "Signing secret",
          secret: created.secret,
          body: [
            h("p", { class: "strong" }, "Copy it now: it will not be shown again."),
            verifyHelp(),
          ],
        }),
        h("div", { class: "actions" }, done),
      ),
    );
  }

  replace(
    container,
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        {},
        h("h1", {}, "Webhooks"),
        h(
          "p",
          { class: "muted" },
          "Onboarder posts each event of the ",
          h("a", { href: "#/activity" }, "activity feed"),
          " to these URLs as it happens, signed, and retries for more than a day when a receiver fails.",
        ),
      ),
      addButton,
    ),
    secretSlot,
    formSlot,
    list,
  );

  async function load() {
    try {
      const webhooks = await listAll("/webhooks", { signal: context.signal });
      if (!webhooks.length) {
        const add = h("button", { type: "button", class: "button button-primary" }, "Add webhook");
        add.addEventListener("click", openForm);
        replace(list, emptyState("No webhooks yet", "Add a webhook to have Onboarder post each event to your receiver as it happens.", add));
        return;
      }
      replace(
        list,
        webhooks.map((webhook) =>
          webhookCard(webhook, context, {
            onDeleted: async () => {
              await load();
              addButton.focus();
            },
          }),
        ),
      );
    } catch (error) {
      if (!isAbort(error)) replace(list, problemBox(error));
    }
  }
  await load();
}

/** How a receiver checks a delivery (Standard Webhooks). */
function verifyHelp() {
  return h(
    "p",
    { class: "help" },
    "Your receiver verifies each delivery with it: deliveries follow ",
    h("a", { href: "https://www.standardwebhooks.com/", target: "_blank", rel: "noopener noreferrer" }, "Standard Webhooks"),
    ", so a library such as ",
    h("code", {}, "standardwebhooks"),
    " checks the ",
    h("code", {}, "webhook-signature"),
    " header, e.g. ",
    h("code", {}, "Webhook(secret).verify(body, headers)"),
    ". The ",
    h("code", {}, "webhook-id"),
    " header is the event's id: the same event can arrive twice.",
  );
}

// ----------------------------------------------------------------------------------- the form

function webhookForm({ onCreated, onCancel, signal }) {
  const headingId = nextId("webhook-form");
  const url = h("input", { type: "url", name: "url", required: true, maxlength: 2048, placeholder: "https://receiver.example.com/onboarder", autocomplete: "off", spellcheck: "false", inputmode: "url" });
  const description = h("input", { type: "text", name: "description", maxlength: 500, placeholder: "e.g. Security testing platform", autocomplete: "off" });
  const allId = nextId("all-types");
  const all = h("input", { type: "checkbox", name: "all_types", id: allId, checked: true });
  const typeChoices = Object.entries(EVENT_TYPES).map(([value, [label]]) => {
    const id = nextId("event-type");
    return h(
      "div",
      { class: "choice choice-inline" },
      h("input", { type: "checkbox", name: "event_types", id, value }),
      h("label", { for: id }, label, h("span", { class: "visually-hidden" }, ` (${value})`)),
    );
  });
  const typeGrid = h("div", { class: "type-grid" }, typeChoices);
  const types = h(
    "fieldset",
    { class: "choices" },
    h("legend", {}, "Event types"),
    h(
      "div",
      { class: "choice" },
      all,
      h("label", { for: allId }, h("span", { class: "choice-title" }, "All types"), h("span", { class: "choice-help" }, "Every event, including types added later.")),
    ),
    typeGrid,
  );
  const result = h("div", { class: "form-result", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "button button-primary" }, "Add webhook");
  const form = h(
    "form",
    { class: "card stack webhook-form", novalidate: true, "aria-labelledby": headingId },
    h("h2", { id: headingId }, "New webhook"),
    field("URL", url, { help: "Where Onboarder posts the events (https:// in production)." }),
    types,
    field("Description", description, { optional: true }),
    result,
    h("div", { class: "actions" }, submit, h("button", { type: "button", class: "button button-ghost", onClick: onCancel }, "Cancel")),
  );

  function syncTypes() {
    typeGrid.hidden = all.checked;
    for (const box of typeGrid.querySelectorAll("input")) box.disabled = all.checked;
  }
  all.addEventListener("change", () => {
    syncTypes();
    if (!all.checked) typeGrid.querySelector("input").focus();
  });
  syncTypes();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const chosen = [...typeGrid.querySelectorAll("input:checked")].map((box) => box.value);
    const missing = [];
    if (!url.value.trim()) missing.push({ field: "url", message: "is required" });
    if (!all.checked && !chosen.length) missing.push({ field: "event_types", message: "choose at least one type, or all types" });
    if (missing.length) {
      showFieldErrors(form, missing);
      replace(result);
      return;
    }
    const body = { url: url.value.trim(), event_types: all.checked ? null : chosen };
    if (description.value.trim()) body.description = description.value.trim();
    replace(result, loading("Adding the webhook…"));
    await busy(submit, "Adding…", async () => {
      try {
        const created = await api("/webhooks", { method: "POST", body, signal });
        replace(result);
        await onCreated(created);
      } catch (error) {
        if (isAbort(error)) return;
        const errors = error instanceof ApiError ? error.problem.errors : null;
        if (Array.isArray(errors) && errors.length) showFieldErrors(form, errors);
        replace(result, problemBox(error, { title: "The webhook could not be added" }));
      }
    });
  });
  return form;
}

// ----------------------------------------------------------------------------------- one endpoint

function fact(term, value) {
  return h("div", {}, h("dt", {}, term), h("dd", {}, value));
}

function webhookCard(initial, context, { onDeleted }) {
  const { signal } = context;
  let webhook = initial;
  const headingId = `webhook-${webhook.id}`;
  const head = h("div", { class: "card-head" });
  const facts = h("dl", { class: "facts" });
  const state = h("div");
  const actions = h("div", { class: "actions" });
  const output = h("div", { class: "webhook-output", "aria-live": "polite" });
  // A rotated secret stays until the person says they kept it, whatever else happens.
  const secretOutput = h("div", { class: "webhook-output" });
  const log = deliveryLog(webhook, signal, { onRead: refreshState });
  const card = h(
    "article",
    { class: "card stack webhook-card", "aria-labelledby": headingId, dataset: { webhookId: webhook.id } },
    head,
    facts,
    state,
    actions,
    secretOutput,
    output,
    log.section,
  );

  const testButton = h("button", { type: "button", class: "button button-small" }, "Send test");
  const rotateButton = h("button", { type: "button", class: "button button-small" }, "Rotate secret");
  const toggleButton = h("button", { type: "button", class: "button button-small" });
  const deleteButton = h("button", { type: "button", class: "button button-small button-danger-ghost" }, "Delete");

  function render() {
    card.dataset.enabled = String(webhook.enabled);
    replace(
      head,
      h("h2", { id: headingId, class: "mono url webhook-url" }, webhook.url),
      h(
        "div",
        { class: "webhook-badges" },
        webhook.enabled ? badge("Enabled", "ok") : badge("Disabled", "neutral"),
        webhook.failing_since ? [" ", badge("Failing", "error", `Every attempt since ${formatDateTime(webhook.failing_since)} failed`)] : null,
      ),
    );
    replace(
      facts,
      fact(
        "Event types",
        webhook.event_types && webhook.event_types.length
          ? h("ul", { class: "tag-list", "aria-label": "Event types" }, webhook.event_types.map((type) => h("li", {}, eventTypeBadge(type))))
          : "All types",
      ),
      webhook.description ? fact("Description", webhook.description) : null,
      fact("Added", formatDateTime(webhook.created_at)),
    );
    replace(
      state,
      !webhook.enabled
        ? notice(
            "warn",
            "Disabled",
            webhook.disabled_reason ? h("p", { class: "disabled-reason" }, webhook.disabled_reason) : null,
            webhook.failing_since ? h("p", {}, "Failing since ", timeElement(webhook.failing_since), ".") : null,
            h("p", {}, "New events are not queued for it; its pending deliveries wait. Enable it to have them attempted again."),
          )
        : webhook.failing_since
          ? notice(
              "warn",
              "Deliveries are failing",
              h("p", {}, "Every attempt since ", timeElement(webhook.failing_since), " failed. Onboarder keeps retrying; after 5 days of failures it disables the webhook."),
            )
          : null,
    );
    replace(toggleButton, webhook.enabled ? "Disable" : "Enable");
    testButton.disabled = !webhook.enabled;
    testButton.title = webhook.enabled ? "" : "Enable the webhook to send a test";
  }

  /** Read again with its log: whether it is failing (or was disabled) changes with attempts. */
  async function refreshState() {
    try {
      const fresh = await api(`/webhooks/${webhook.id}`, { signal });
      if (["enabled", "failing_since", "disabled_reason"].some((name) => fresh[name] !== webhook[name])) {
        webhook = fresh;
        render();
      }
    } catch {
      // The log says what went wrong if the service is away; this is only a refinement.
    }
  }

  testButton.addEventListener("click", () =>
    busy(testButton, "Sending…", async () => {
      try {
        await api(`/webhooks/${webhook.id}/test`, { method: "POST", signal });
        replace(output, notice("success", "Test event sent", h("p", {}, "A “Webhook test” delivery is queued: it shows as delivered below once your receiver answers 2xx.")));
        announce("Test event sent");
        await log.refresh();
      } catch (error) {
        if (!isAbort(error)) replace(output, problemBox(error, { title: "The test could not be sent" }));
      }
    }).then(() => {
      testButton.disabled = !webhook.enabled;
    }),
  );

  rotateButton.addEventListener("click", async () => {
    const confirmed = await confirmDialog({
      title: "Rotate the signing secret?",
      text: "A new secret is made and shown once. The current one keeps signing deliveries, beside the new one, for 24 hours: switch your receiver to the new secret within that time.",
      confirmLabel: "Rotate secret",
      danger: false,
    });
    if (!confirmed) return;
    await busy(rotateButton, "Rotating…", async () => {
      try {
        const answer = await api(`/webhooks/${webhook.id}/rotate-secret`, { method: "POST", signal });
        const done = h("button", { type: "button", class: "button button-small" }, "Done, I kept it");
        done.addEventListener("click", () => {
          replace(secretOutput);
          rotateButton.focus();
        });
        replace(output);
        replace(
          secretOutput,
          secretPanel({
            title: "New signing secret",
            secret: answer.secret,
            body: [
              h("p", { class: "strong" }, "Copy it now: it will not be shown again."),
              h(
                "p",
                { class: "help" },
                "The old secret still signs deliveries for 24 hours (until ",
                timeElement(answer.previous_secret_valid_until),
                "): each delivery carries both signatures until then, so your receiver can switch without losing any.",
              ),
              h("div", { class: "actions" }, done),
            ],
          }),
        );
        announce("New signing secret shown");
      } catch (error) {
        if (!isAbort(error)) replace(output, problemBox(error, { title: "The secret could not be rotated" }));
      }
    });
    secretOutput.querySelector("input")?.focus();
  });

  toggleButton.addEventListener("click", () => {
    const enable = !webhook.enabled;
    return busy(toggleButton, enable ? "Enabling…" : "Disabling…", async () => {
      try {
        webhook = await api(`/webhooks/${webhook.id}`, { method: "PATCH", body: { enabled: enable }, signal });
        replace(output, notice("success", enable ? "Webhook enabled" : "Webhook disabled", enable ? h("p", {}, "Its pending deliveries are attempted again.") : null));
        announce(enable ? "Webhook enabled" : "Webhook disabled");
      } catch (error) {
        if (!isAbort(error)) replace(output, problemBox(error, { title: enable ? "The webhook could not be enabled" : "The webhook could not be disabled" }));
      }
    }).then(() => {
      render();
      toggleButton.focus();
      if (enable) log.refresh();
    });
  });

  deleteButton.addEventListener("click", async () => {
    const confirmed = await confirmDialog({
      title: "Delete this webhook?",
      text: `Onboarder stops posting to ${webhook.url}. Its pending deliveries are dropped; the events stay in the activity feed.`,
      confirmLabel: "Delete webhook",
    });
    if (!confirmed) return;
    await busy(deleteButton, "Deleting…", async () => {
      try {
        await api(`/webhooks/${webhook.id}`, { method: "DELETE", signal });
        log.stop();
        announce("Webhook deleted");
        await onDeleted();
      } catch (error) {
        if (!isAbort(error)) replace(output, problemBox(error, { title: "The webhook could not be deleted" }));
      }
    });
  });

  replace(actions, testButton, rotateButton, toggleButton, deleteButton);
  render();
  log.refresh();
  return card;
}

// ----------------------------------------------------------------------------------- deliveries

function deliveryLog(webhook, signal, { onRead }) {
  const headingId = nextId("deliveries");
  const body = h("div", { class: "stack" }, loading("Loading deliveries…"));
  const refreshButton = h("button", { type: "button", class: "button button-small button-ghost" }, "Refresh");
  const section = h(
    "section",
    { class: "stack deliveries", "aria-labelledby": headingId },
    h("div", { class: "card-head" }, h("h3", { id: headingId }, "Deliveries"), refreshButton),
    body,
  );
  const rows = h("tbody");
  const more = h("div", { class: "actions" });
  const table = h(
    "table",
    { class: "table table-compact delivery-table", "aria-label": `Deliveries to ${webhook.url}` },
    h("thead", {}, h("tr", {}, ["Event", "Status", "Attempts", "Last answer", "Next attempt", "Delivered", ""].map((text) => h("th", { scope: "col" }, text || h("span", { class: "visually-hidden" }, "Actions"))))),
    rows,
  );
  let timer = null;
  let stopped = false;
  let generation = 0;

  function stop() {
    stopped = true;
    window.clearTimeout(timer);
  }
  signal.addEventListener("abort", stop, { once: true });

  function row(delivery) {
    const [label, kind] = DELIVERY_STATUS[delivery.status] || [delivery.status, "neutral"];
    const retryable = delivery.status === "pending" || delivery.status === "failed";
    let retry = null;
    if (retryable) {
      retry = h("button", { type: "button", class: "button button-small", "aria-label": `Retry the ${eventTypeLabel(delivery.type)} delivery of ${formatDateTime(delivery.created_at)}` }, "Retry");
      retry.addEventListener("click", () =>
        busy(retry, "Retrying…", async () => {
          try {
            const answer = await api(`/webhooks/${webhook.id}/deliveries/${delivery.event_id}/retry`, { method: "POST", signal });
            rowOf(delivery.event_id)?.replaceWith(row(answer));
            announce("Delivery queued again");
            await refresh();
          } catch (error) {
            if (!isAbort(error)) replace(body, problemBox(error, { title: "The delivery could not be retried" }), table, more);
          }
        }),
      );
    }
    return h(
      "tr",
      { dataset: { eventId: delivery.event_id, status: delivery.status } },
      cell("Event", eventTypeBadge(delivery.type), h("div", { class: "muted small" }, timeElement(delivery.created_at))),
      cell("Status", badge(label, kind)),
      cell("Attempts", String(delivery.attempts)),
      cell(
        "Last answer",
        delivery.last_status_code ? h("span", { class: "mono status-code" }, `HTTP ${delivery.last_status_code}`) : null,
        delivery.last_error ? h("div", { class: "small text-error last-error" }, delivery.last_error) : null,
        !delivery.last_status_code && !delivery.last_error ? h("span", { class: "muted" }, delivery.attempts ? "—" : "Not attempted yet") : null,
      ),
      cell("Next attempt", delivery.next_attempt_at ? timeElement(delivery.next_attempt_at, nextAttemptText(delivery.next_attempt_at)) : "—"),
      cell("Delivered", delivery.delivered_at ? timeElement(delivery.delivered_at) : "—"),
      cell("Actions", retry),
    );
  }

  function rowOf(eventId) {
    return [...rows.children].find((tr) => tr.dataset.eventId === eventId) || null;
  }

  function addMore(cursor, mine) {
    replace(more);
    if (!cursor) return;
    const button = h("button", { type: "button", class: "button button-small" }, "Show older deliveries");
    button.addEventListener("click", () =>
      busy(button, "Loading…", async () => {
        try {
          const page = await api(`/webhooks/${webhook.id}/deliveries`, { query: { limit: DELIVERIES_PAGE_SIZE, cursor }, signal });
          if (mine !== generation) return;
          rows.append(...page.items.map(row));
          addMore(page.next_cursor, mine);
        } catch (error) {
          if (!isAbort(error)) replace(more, problemBox(error));
        }
      }),
    );
    more.append(button);
  }

  /** The newest page again; read again by itself while a delivery is due soon. */
  async function refresh() {
    window.clearTimeout(timer);
    if (stopped) return;
    generation += 1;
    const mine = generation;
    const focusedRow = document.activeElement && rows.contains(document.activeElement) ? document.activeElement.closest("tr")?.dataset.eventId : null;
    try {
      const page = await api(`/webhooks/${webhook.id}/deliveries`, { query: { limit: DELIVERIES_PAGE_SIZE }, signal });
      if (mine !== generation || stopped) return;
      if (!page.items.length) {
        replace(body, h("p", { class: "muted" }, "No delivery yet. Send a test to try the receiver."));
      } else {
        replace(rows, page.items.map(row));
        addMore(page.next_cursor, mine);
        if (!table.isConnected || body.children.length !== 2) replace(body, table, more);
        if (focusedRow) (rowOf(focusedRow)?.querySelector("button") || refreshButton).focus();
      }
      onRead();
      const now = Date.now();
      const dueSoon = page.items.some((d) => d.status === "pending" && (!d.next_attempt_at || new Date(d.next_attempt_at).getTime() - now < DUE_SOON_MS));
      if (dueSoon && !signal.aborted) timer = window.setTimeout(refresh, REFRESH_MS);
    } catch (error) {
      if (!isAbort(error) && !stopped) replace(body, problemBox(error, { title: "The deliveries could not be loaded" }));
    }
  }

  refreshButton.addEventListener("click", () => busy(refreshButton, "Refreshing…", refresh));
  return { section, refresh, stop };
}

function nextAttemptText(iso) {
  const ms = new Date(iso).getTime() - Date.now();
  if (ms <= 0) return "due now";
  if (ms < 60_000) return `in ${plural(Math.max(1, Math.round(ms / 1000)), "second")}`;
  return formatRelative(iso);
}
