// Integrations: the tenant's AWS connections, their status, and an Auto-Onboard and a
// Real-time updates panel each; each one tested, edited or deleted from its card.

import { api, isAbort, listAll } from "../api.js";
import {
  CREDENTIAL_TYPES,
  busy,
  confirmDialog,
  connectionStatus,
  emptyState,
  formatDateTime,
  formatRelative,
  h,
  loading,
  notice,
  problemBox,
  replace,
  timeElement,
} from "../dom.js";
import { autoOnboardPanel } from "./auto-onboard.js";
import { DEFAULT_CHILD_ROLE_NAME, DEFAULT_SESSION_NAME, connectionEditForm } from "./connection-edit.js";
import { connectionForm, testResult } from "./connection-form.js";
import { realtimePanel } from "./realtime.js";

export async function integrationsView(container, context) {
  context.setTitle("Integrations");
  const formSlot = h("div");
  // What just happened to a connection (created, deleted): above the list, focusable.
  const outcome = h("div", { tabindex: "-1", class: "connections-outcome" });
  const list = h("div", { class: "stack" }, loading("Loading connections…"));
  const newButton = h("button", { type: "button", class: "button" }, "New Connection");
  newButton.addEventListener("click", () => {
    replace(outcome);
    const form = connectionForm({
      signal: context.signal,
      onCreated: async (created) => {
        replace(formSlot);
        newButton.hidden = false;
        await load();
        const card = list.querySelector(`[data-connection-id="${CSS.escape(created.id)}"]`);
        replace(
          outcome,
          notice(
            "success",
            `Connection ${created.name} created`,
            h(
              "p",
              {},
              created.status === "ok"
                ? "It was tested before it was created: it works."
                : "It has not been tested yet: use Test Connection on its card.",
            ),
          ),
        );
        const heading = card && card.querySelector("h2");
        if (heading) {
          heading.tabIndex = -1;
          heading.focus();
        } else outcome.focus();
      },
      onCancel: () => {
        replace(formSlot);
        newButton.hidden = false;
        newButton.focus();
      },
    });
    replace(formSlot, form);
    newButton.hidden = true;
    form.querySelector('input[name="name"]').focus();
  });

  function deleted(connection, applications) {
    const card = list.querySelector(`[data-connection-id="${CSS.escape(connection.id)}"]`);
    if (card) card.remove();
    replace(
      outcome,
      notice(
        "success",
        `Connection ${connection.name} deleted`,
        applications === "none"
          ? null
          : h(
              "p",
              {},
              "Its applications were kept: moved to another connection that reaches their account, or marked orphaned. ",
              h("a", { href: "#/applications?status=orphaned" }, "See orphaned applications"),
            ),
      ),
    );
    if (!list.querySelector(".connection-card")) {
      replace(list, emptyState("No connections yet", "Create a connection to discover the APIs of your AWS accounts."));
    }
    outcome.focus();
  }

  replace(
    container,
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        {},
        h("h1", {}, "Integrations"),
        h("p", { class: "muted" }, "Amazon API Gateway connections, and the schedules that onboard their new APIs automatically."),
      ),
      newButton,
    ),
    formSlot,
    outcome,
    list,
  );

  async function load() {
    replace(list, loading("Loading connections…"));
    try {
      const connections = await listAll("/connections", { signal: context.signal });
      if (!connections.length) {
        replace(list, emptyState("No connections yet", "Create a connection to discover the APIs of your AWS accounts."));
        return;
      }
      replace(list, connections.map((connection) => connectionCard(connection, context, { onDeleted: deleted })));
    } catch (error) {
      if (!isAbort(error)) replace(list, problemBox(error));
    }
  }
  await load();
}

function fact(term, value) {
  return value ? h("div", {}, h("dt", {}, term), h("dd", {}, value)) : null;
}

function lastTested(iso) {
  return iso ? timeElement(iso, `${formatDateTime(iso)} (${formatRelative(iso)})`) : "never";
}

/** Said before a delete: what goes with the connection, and what becomes of its applications. */
function deleteText(connection, applications) {
  const goes = connection.auto_onboard
    ? "Its stored credentials, auto-onboard schedule, run history and any APIs waiting for approval are deleted."
    : "Its stored credentials, auto-onboard run history and any APIs waiting for approval are deleted.";
  const kept = {
    none: "It has no applications.",
    one: "Its application is kept: it moves to another of your connections that reaches its AWS account or, if none does, is marked orphaned, with its history.",
    many: "Its applications are kept: each moves to another of your connections that reaches its AWS account or, if none does, is marked orphaned, with its history.",
  }[applications || "many"];
  return `${goes} ${kept} Nothing changes in AWS. This cannot be undone.`;
}

/** "none", "one" or "many" applications onboarded through the connection; null if unknown. */
async function applicationsOf(connection, signal) {
  try {
    const page = await api("/applications", { query: { connection_id: connection.id, limit: 1 }, signal });
    if (!page.items.length) return "none";
    return page.next_cursor ? "many" : "one";
  } catch (error) {
    if (isAbort(error)) throw error;
    return null; // the dialog then speaks of applications without knowing whether there are any
  }
}

function connectionCard(connection, context, { onDeleted }) {
  const headingId = `connection-${connection.id}`;
  const head = h("div", { class: "card-head" });
  const facts = h("dl", { class: "facts" });
  const override = h("div");
  const result = h("div", { "aria-live": "polite" });
  const editSlot = h("div");
  const testButton = h("button", { type: "button", class: "button button-small" }, "Test Connection");
  const editButton = h("button", { type: "button", class: "button button-small" }, "Edit");
  const deleteButton = h("button", { type: "button", class: "button button-small button-danger-ghost" }, "Delete Connection");
  const actions = h("div", { class: "actions" }, testButton, editButton, deleteButton);

  function render() {
    const type = CREDENTIAL_TYPES[connection.credential_type] || { short: connection.credential_type };
    const roleType = connection.credential_type !== "aws_user";
    replace(
      head,
      h("div", {}, h("h2", { id: headingId }, connection.name), h("p", { class: "muted" }, `Amazon API Gateway · ${type.short}`)),
      h("span", { class: "connection-status" }, connectionStatus(connection)),
    );
    replace(
      facts,
      fact("Central role", connection.central_role_arn && h("span", { class: "mono" }, connection.central_role_arn)),
      fact("Role", connection.role_arn && h("span", { class: "mono" }, connection.role_arn)),
      fact("Child role", connection.credential_type === "central_role" && h("span", { class: "mono", dataset: { fact: "child_role_name" } }, connection.child_role_name || DEFAULT_CHILD_ROLE_NAME)),
      fact(
        "Session name",
        roleType &&
          h(
            "span",
            { dataset: { fact: "session_name" } },
            h("span", { class: "mono" }, connection.session_name || DEFAULT_SESSION_NAME),
            connection.session_name ? null : h("span", { class: "muted" }, " (default)"),
          ),
      ),
      fact("Access key", connection.access_key_id_masked && h("span", { class: "mono", dataset: { fact: "access_key" } }, connection.access_key_id_masked)),
      fact("Account", connection.account_id && h("span", { class: "mono" }, connection.account_id)),
      fact("Last tested", h("span", { dataset: { fact: "last_tested" } }, lastTested(connection.last_tested_at))),
    );
    replace(
      override,
      connection.external_id_override
        ? h(
            "p",
            { class: "alert alert-warn", role: "note", dataset: { notice: "external-id-override" } },
            `This connection still assumes its role with an external id chosen by hand (${connection.external_id}). `,
            "The next change to it switches to your tenant's external id: put that one in the role's trust policy first (Setup shows it).",
          )
        : null,
    );
  }

  testButton.addEventListener("click", () =>
    busy(testButton, "Testing…", async () => {
      replace(result, loading("Testing the connection with AWS…"));
      try {
        const answer = await api(`/connections/${connection.id}/test`, { method: "POST", signal: context.signal });
        replace(result, testResult(answer));
        Object.assign(connection, await api(`/connections/${connection.id}`, { signal: context.signal }));
        render();
      } catch (error) {
        if (!isAbort(error)) replace(result, problemBox(error));
      }
    }),
  );

  function closeEdit() {
    replace(editSlot);
    actions.hidden = false;
  }

  editButton.addEventListener("click", () => {
    replace(result);
    const form = connectionEditForm({
      connection,
      signal: context.signal,
      onCancel: () => {
        closeEdit();
        editButton.focus();
      },
      onSaved: (saved, { keyRotated, unchanged }) => {
        // The auto-onboard panel holds this same object: it sees the new name too.
        Object.assign(connection, saved);
        render();
        closeEdit();
        if (unchanged) {
          replace(result, notice("info", "Nothing to save", h("p", {}, "No field was changed.")));
          editButton.focus();
          return;
        }
        replace(
          result,
          notice(
            "success",
            "Changes saved",
            h(
              "p",
              {},
              keyRotated
                ? "The new access key has not been tested yet: test the connection to check it."
                : "Test the connection to check that it still works with these settings.",
            ),
          ),
        );
        testButton.focus();
      },
    });
    replace(editSlot, form);
    actions.hidden = true;
    form.querySelector('input[name="name"]').focus();
  });

  deleteButton.addEventListener("click", async () => {
    let applications;
    try {
      applications = await applicationsOf(connection, context.signal);
    } catch {
      return; // the page was left
    }
    const confirmed = await confirmDialog({
      title: `Delete ${connection.name}?`,
      text: deleteText(connection, applications),
      confirmLabel: "Delete Connection",
    });
    if (!confirmed) return;
    await busy(deleteButton, "Deleting…", async () => {
      try {
        await api(`/connections/${connection.id}`, { method: "DELETE", signal: context.signal });
        onDeleted(connection, applications);
      } catch (error) {
        if (!isAbort(error)) replace(result, problemBox(error));
      }
    });
  });

  render();
  return h(
    "article",
    { class: "card stack connection-card", "aria-labelledby": headingId, dataset: { connectionId: connection.id } },
    head,
    facts,
    override,
    actions,
    editSlot,
    result,
    autoOnboardPanel(connection, context),
    realtimePanel(connection, context),
  );
}
