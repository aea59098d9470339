// Integrations: the tenant's AWS connections, their status, and an Auto-Onboard panel each.

import { api, isAbort, listAll } from "../api.js";
import {
  CREDENTIAL_TYPES,
  busy,
  connectionStatus,
  emptyState,
  formatDateTime,
  h,
  loading,
  problemBox,
  replace,
} from "../dom.js";
import { autoOnboardPanel } from "./auto-onboard.js";
import { connectionForm, testResult } from "./connection-form.js";

export async function integrationsView(container, context) {
  context.setTitle("Integrations");
  const formSlot = h("div");
  const list = h("div", { class: "stack" }, loading("Loading connections…"));
  const newButton = h("button", { type: "button", class: "button" }, "New connection");
  newButton.addEventListener("click", () => {
    const form = connectionForm({
      signal: context.signal,
      onCreated: async () => {
        replace(formSlot);
        newButton.hidden = false;
        await load();
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
      replace(list, connections.map((connection) => connectionCard(connection, context)));
    } catch (error) {
      if (!isAbort(error)) replace(list, problemBox(error));
    }
  }
  await load();
}

function fact(term, value) {
  return value ? h("div", {}, h("dt", {}, term), h("dd", {}, value)) : null;
}

function connectionCard(connection, context) {
  const headingId = `connection-${connection.id}`;
  const status = h("span", {}, connectionStatus(connection));
  const lastTested = h("span", {}, connection.last_tested_at ? formatDateTime(connection.last_tested_at) : "never");
  const result = h("div", { "aria-live": "polite" });
  const testButton = h("button", { type: "button", class: "button button-small" }, "Test connection");
  testButton.addEventListener("click", () =>
    busy(testButton, "Testing…", async () => {
      replace(result, loading("Testing the connection with AWS…"));
      try {
        const answer = await api(`/connections/${connection.id}/test`, { method: "POST", signal: context.signal });
        replace(result, testResult(answer));
        const fresh = await api(`/connections/${connection.id}`, { signal: context.signal });
        replace(status, connectionStatus(fresh));
        replace(lastTested, formatDateTime(fresh.last_tested_at));
      } catch (error) {
        if (!isAbort(error)) replace(result, problemBox(error));
      }
    }),
  );
  const type = CREDENTIAL_TYPES[connection.credential_type] || { short: connection.credential_type };
  return h(
    "article",
    { class: "card stack connection-card", "aria-labelledby": headingId, dataset: { connectionId: connection.id } },
    h(
      "div",
      { class: "card-head" },
      h("div", {}, h("h2", { id: headingId }, connection.name), h("p", { class: "muted" }, `Amazon API Gateway · ${type.short}`)),
      status,
    ),
    h(
      "dl",
      { class: "facts" },
      fact("Central role", connection.central_role_arn && h("span", { class: "mono" }, connection.central_role_arn)),
      fact("Role", connection.role_arn && h("span", { class: "mono" }, connection.role_arn)),
      fact("Access key", connection.access_key_id_masked && h("span", { class: "mono" }, connection.access_key_id_masked)),
      fact("Account", connection.account_id && h("span", { class: "mono" }, connection.account_id)),
      fact("Last tested", lastTested),
    ),
    connection.external_id_override
      ? h(
          "p",
          { class: "alert alert-warn", role: "note", dataset: { notice: "external-id-override" } },
          `This connection still assumes its role with an external id chosen by hand (${connection.external_id}). `,
          "The next change to it switches to your tenant's external id: put that one in the role's trust policy first (Setup shows it).",
        )
      : null,
    h("div", { class: "actions" }, testButton),
    result,
    autoOnboardPanel(connection, context),
  );
}
