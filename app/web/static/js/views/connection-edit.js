// "Edit" on a connection's card: its name, session name, child role name, and a new access
// key for an IAM user. Only what changed is sent (PATCH); a secret never comes back.

import { ApiError, api, isAbort } from "../api.js";
import { busy, clearFieldErrors, field, h, loading, nextId, problemBox, replace, showFieldErrors, textInput } from "../dom.js";

// The service's defaults, for an emptied field (null resets it).
export const DEFAULT_SESSION_NAME = "APIsec-Onboarder";
export const DEFAULT_CHILD_ROLE_NAME = "APIsecChildRole";

/**
 * The edit form of `connection`. `onSaved(connection, { keyRotated })` receives the PATCH
 * answer; `onCancel()` closes the form without a request.
 */
export function connectionEditForm({ connection, signal, onSaved, onCancel }) {
  const headingId = nextId("connection-edit");
  const type = connection.credential_type;
  const name = textInput("name", { required: true, maxlength: 200, value: connection.name });
  const sessionName =
    type === "aws_user"
      ? null
      : textInput("session_name", { value: connection.session_name || "", placeholder: DEFAULT_SESSION_NAME, maxlength: 64 });
  const childRoleName =
    type === "central_role"
      ? textInput("child_role_name", { value: connection.child_role_name || "", placeholder: DEFAULT_CHILD_ROLE_NAME, maxlength: 64 })
      : null;
  const accessKeyId = type === "aws_user" ? textInput("access_key_id", { placeholder: "AKIA…" }) : null;
  const secretAccessKey =
    type === "aws_user" ? h("input", { type: "password", name: "secret_access_key", autocomplete: "new-password" }) : null;

  const result = h("div", { class: "form-result", "aria-live": "polite" });
  const saveButton = h("button", { type: "submit", class: "button button-primary" }, "Save Changes");
  const cancelButton = h("button", { type: "button", class: "button button-ghost" }, "Cancel");

  const form = h(
    "form",
    { class: "stack connection-edit", novalidate: true, "aria-labelledby": headingId },
    h("h3", { id: headingId }, `Edit ${connection.name}`),
    connection.external_id_override
      ? h(
          "p",
          { class: "alert alert-warn", role: "note" },
          "Saving switches this connection to your tenant's external id: put that one in the role's trust policy first (Setup shows it).",
        )
      : null,
    field("Connection name", name),
    sessionName
      ? field("Session name", sessionName, {
          optional: true,
          help: `Shows in your CloudTrail. 2 to 64 letters, digits and +=,.@_-. Empty: ${DEFAULT_SESSION_NAME}.`,
        })
      : null,
    childRoleName
      ? field("Child role name", childRoleName, {
          optional: true,
          help: `The role the StackSet created in every member account. Empty: ${DEFAULT_CHILD_ROLE_NAME}.`,
        })
      : null,
    accessKeyId
      ? h(
          "fieldset",
          { class: "rotate-key stack" },
          h("legend", {}, "Rotate the access key"),
          h(
            "p",
            { class: "help" },
            "Current key ",
            h("span", { class: "mono" }, connection.access_key_id_masked || "—"),
            ". Leave both fields empty to keep it.",
          ),
          field("New access key id", accessKeyId),
          field("New secret access key", secretAccessKey, { help: "Sent once, stored encrypted, never shown again." }),
        )
      : null,
    result,
    h("div", { class: "actions" }, saveButton, cancelButton),
  );

  /** The fields that differ from the saved connection; null resets a name to its default. */
  function changes() {
    const data = {};
    const newName = name.value.trim();
    if (newName !== connection.name) data.name = newName;
    if (sessionName) {
      const value = sessionName.value.trim() || null;
      if (value !== (connection.session_name || null)) data.session_name = value;
    }
    if (childRoleName) {
      const value = childRoleName.value.trim() || null;
      if ((value || DEFAULT_CHILD_ROLE_NAME) !== (connection.child_role_name || DEFAULT_CHILD_ROLE_NAME)) data.child_role_name = value;
    }
    if (accessKeyId && (accessKeyId.value.trim() || secretAccessKey.value)) {
      data.access_key_id = accessKeyId.value.trim();
      data.secret_access_key = secretAccessKey.value.trim();
    }
    return data;
  }

  function missingRequired() {
    const missing = [];
    if (!name.value.trim()) missing.push({ field: "name", message: "is required" });
    if (accessKeyId) {
      const hasId = Boolean(accessKeyId.value.trim());
      const hasSecret = Boolean(secretAccessKey.value.trim());
      if (hasId !== hasSecret) {
        missing.push({
          field: hasId ? "secret_access_key" : "access_key_id",
          message: "is required: a new key is an access key id and its secret together",
        });
      }
    }
    return missing;
  }

  cancelButton.addEventListener("click", () => onCancel());
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      onCancel();
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const missing = missingRequired();
    if (missing.length) {
      showFieldErrors(form, missing);
      replace(result);
      return;
    }
    const data = changes();
    if (!Object.keys(data).length) {
      onSaved(connection, { keyRotated: false, unchanged: true });
      return;
    }
    replace(result, loading("Saving the changes…"));
    await busy(saveButton, "Saving…", async () => {
      try {
        const saved = await api(`/connections/${connection.id}`, { method: "PATCH", body: data, signal });
        // The secret leaves the page with the form; clear it first all the same.
        if (secretAccessKey) secretAccessKey.value = "";
        replace(result);
        onSaved(saved, { keyRotated: "access_key_id" in data, unchanged: false });
      } catch (error) {
        if (isAbort(error)) return;
        const fieldErrors = error instanceof ApiError ? error.problem.errors : null;
        if (error instanceof ApiError && error.status === 409) {
          showFieldErrors(form, [{ field: "name", message: "is already taken by another connection" }]);
        } else if (Array.isArray(fieldErrors) && fieldErrors.length) {
          showFieldErrors(form, fieldErrors);
        }
        replace(result, problemBox(error));
      }
    });
  });

  return form;
}
