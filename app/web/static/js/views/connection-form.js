// "New Connection": name, credential type with only that type's fields, Test, Create. A
// successful test's token goes with the create, so the connection is stored as tested.

import { ApiError, api, isAbort } from "../api.js";
import {
  CREDENTIAL_TYPES,
  badge,
  busy,
  clearFieldErrors,
  field,
  h,
  loading,
  nextId,
  problemBox,
  replace,
  showFieldErrors,
  textInput,
} from "../dom.js";

// Fields per credential type: [name, label, input attributes, options]
const TYPE_FIELDS = {
  central_role: [
    ["central_role_arn", "Central role ARN", { placeholder: "arn:aws:iam::111122223333:role/APIsecCentralRole", required: true }],
    ["child_role_name", "Child role name", { placeholder: "APIsecChildRole" }, { optional: true, advanced: true, help: "The role the StackSet created in every member account." }],
    ["session_name", "Session name", { placeholder: "APIsec-Onboarder" }, { optional: true, advanced: true, help: "Shows in your CloudTrail. 2 to 64 letters, digits and +=,.@_-" }],
  ],
  assume_role: [
    ["role_arn", "Role ARN", { placeholder: "arn:aws:iam::999988887777:role/APIGatewayAccessRole", required: true }],
    ["session_name", "Session name", { placeholder: "APIsec-Onboarder" }, { optional: true, advanced: true, help: "Shows in your CloudTrail. 2 to 64 letters, digits and +=,.@_-" }],
  ],
  aws_user: [
    ["access_key_id", "Access key id", { placeholder: "AKIA…", required: true }],
    ["secret_access_key", "Secret access key", { type: "password", required: true }, { help: "Sent once, stored encrypted, never shown again." }],
  ],
};

/** The ConnectionTest answer: each check with ok/failed, the error's hint, the accounts. */
export function testResult(result) {
  const checks = h(
    "ul",
    { class: "checks" },
    result.checks.map((check) =>
      h(
        "li",
        { class: check.ok ? "check check-ok" : "check check-failed", dataset: { check: check.name } },
        h("span", { class: "check-icon", "aria-hidden": "true" }, check.ok ? "✓" : "✕"),
        h(
          "div",
          {},
          h("p", { class: "check-name" }, h("code", {}, check.name), " ", badge(check.ok ? "ok" : "failed", check.ok ? "ok" : "error")),
          h("p", { class: "check-detail" }, check.detail),
        ),
      ),
    ),
  );
  const error = result.error
    ? h(
        "div",
        { class: "alert alert-error", role: "alert", dataset: { code: result.error.code } },
        h("p", { class: "alert-title" }, result.error.message),
        result.error.hint ? h("p", { class: "hint" }, h("strong", {}, "What to do: "), result.error.hint) : null,
        h("p", { class: "alert-meta" }, `code ${result.error.code}`),
      )
    : null;
  const accounts = Array.isArray(result.accounts) && result.accounts.length
    ? h(
        "details",
        { class: "accounts-detail" },
        h("summary", {}, `${result.accounts.filter((a) => a.reachable).length} of ${result.accounts.length} accounts reachable`),
        h(
          "ul",
          { class: "plain-list" },
          result.accounts.map((account) =>
            h(
              "li",
              {},
              h("span", {}, account.name || account.account_id, " ", h("span", { class: "muted mono" }, account.account_id)),
              " ",
              account.reachable ? badge("reachable", "ok") : badge(account.error ? account.error.code : "unreachable", "warn", account.error && account.error.hint),
            ),
          ),
        ),
      )
    : null;
  return h(
    "section",
    { class: `test-result ${result.ok ? "test-ok" : "test-failed"}`, "aria-label": "Connection test" },
    h(
      "p",
      { class: "test-summary" },
      result.ok ? badge("Connection works", "ok") : badge("Connection test failed", "error"),
      result.arn ? h("span", { class: "muted mono" }, ` ${result.arn}`) : null,
    ),
    checks,
    error,
    accounts,
  );
}

function setupHelp(setup, type) {
  const steps = setup && setup.instructions ? setup.instructions[type] : null;
  if (!steps) return null;
  return h(
    "details",
    { class: "setup-help" },
    h("summary", {}, "How to set this up in AWS"),
    type !== "aws_user"
      ? h(
          "p",
          {},
          "Your external id: ",
          h("code", { class: "copyable" }, setup.external_id),
          ". Onboarder calls AWS as ",
          h("code", {}, setup.platform_principal_arn),
          ".",
        )
      : null,
    h("ol", {}, steps.map((step) => h("li", {}, step))),
  );
}

/**
 * The form. `onCreated(connection)` receives the 201 answer; `onCancel` (optional) shows a
 * Cancel button.
 */
export function connectionForm({ onCreated, onCancel, signal, heading = "New Connection" }) {
  const headingId = nextId("connection-form");
  const name = textInput("name", { required: true, maxlength: 200, placeholder: "e.g. Production organization" });
  let setup = null;
  const helpSlot = h("div");

  const typeRadios = Object.entries(CREDENTIAL_TYPES).map(([value, info], index) => {
    const id = nextId("credential-type");
    return h(
      "div",
      { class: "choice" },
      h("input", { type: "radio", name: "credential_type", id, value, checked: index === 0 }),
      h("label", { for: id }, h("span", { class: "choice-title" }, info.label), h("span", { class: "choice-help" }, info.help)),
    );
  });

  const typeSections = {};
  for (const [type, fields] of Object.entries(TYPE_FIELDS)) {
    const basic = [];
    const advanced = [];
    for (const [fieldName, label, attributes, options = {}] of fields) {
      const input = textInput(fieldName, attributes);
      (options.advanced ? advanced : basic).push(field(label, input, { help: options.help, optional: options.optional }));
    }
    typeSections[type] = h(
      "div",
      { class: "type-fields stack", dataset: { type } },
      basic,
      advanced.length ? h("details", { class: "advanced" }, h("summary", {}, "Advanced options"), h("div", { class: "stack" }, advanced)) : null,
    );
  }

  const result = h("div", { class: "form-result", "aria-live": "polite" });
  const testButton = h("button", { type: "button", class: "button" }, "Test Connection");
  const createButton = h("button", { type: "submit", class: "button button-primary" }, "Create Connection");

  const form = h(
    "form",
    { class: "card stack connection-form", novalidate: true, "aria-labelledby": headingId },
    h("h2", { id: headingId }, heading),
    field("Connection name", name),
    h("fieldset", { class: "choices" }, h("legend", {}, "Credential type"), typeRadios),
    Object.values(typeSections),
    helpSlot,
    result,
    h(
      "div",
      { class: "actions" },
      testButton,
      createButton,
      onCancel ? h("button", { type: "button", class: "button button-ghost", onClick: onCancel }, "Cancel") : null,
    ),
  );

  function selectedType() {
    return form.querySelector('input[name="credential_type"]:checked').value;
  }

  function showType() {
    const type = selectedType();
    for (const [sectionType, section] of Object.entries(typeSections)) {
      const active = sectionType === type;
      section.hidden = !active;
      // Disabled controls of the other types are neither sent nor validated.
      for (const control of section.querySelectorAll("input")) control.disabled = !active;
    }
    replace(helpSlot, setupHelp(setup, type));
  }

  function body({ forTest }) {
    const type = selectedType();
    const data = { credential_type: type };
    const trimmedName = name.value.trim();
    if (trimmedName || !forTest) data.name = trimmedName;
    for (const input of typeSections[type].querySelectorAll("input")) {
      const value = input.value.trim();
      if (value) data[input.name] = value;
    }
    return data;
  }

  function missingRequired({ forTest }) {
    const missing = [];
    if (!forTest && !name.value.trim()) missing.push({ field: "name", message: "is required" });
    for (const input of typeSections[selectedType()].querySelectorAll("input[required]")) {
      if (!input.value.trim()) missing.push({ field: input.name, message: "is required" });
    }
    return missing;
  }

  // The token of the last successful test, for exactly the fields it tested (the name is not
  // one of them: it may change after the test).
  let tested = null;

  function credentialFields(data) {
    const { name: _name, ...fields } = data;
    return JSON.stringify(fields);
  }

  function testedFields() {
    return credentialFields(body({ forTest: true }));
  }

  function testToken() {
    return tested && tested.fields === testedFields() ? tested.token : null;
  }

  function forgetTestIfChanged() {
    if (!tested || tested.fields === testedFields()) return;
    tested = null;
    replace(
      result,
      h(
        "p",
        { class: "alert alert-info test-stale", role: "status" },
        "The fields changed since the test. Test again, or create the connection untested.",
      ),
    );
  }

  function showProblem(error) {
    const errors = error instanceof ApiError ? error.problem.errors : null;
    if (Array.isArray(errors) && errors.length) showFieldErrors(form, errors);
    replace(result, problemBox(error));
  }

  form.addEventListener("change", (event) => {
    if (event.target.name === "credential_type") {
      showType();
      tested = null;
      replace(result);
      clearFieldErrors(form);
    }
  });
  form.addEventListener("input", forgetTestIfChanged);

  testButton.addEventListener("click", async () => {
    clearFieldErrors(form);
    const missing = missingRequired({ forTest: true });
    if (missing.length) {
      showFieldErrors(form, missing);
      replace(result);
      return;
    }
    replace(result, loading("Testing the connection with AWS…"));
    await busy(testButton, "Testing…", async () => {
      try {
        const sent = body({ forTest: true });
        tested = null;
        const answer = await api("/connections/test", { method: "POST", body: sent, signal });
        if (answer.ok && answer.test_token) tested = { token: answer.test_token, fields: credentialFields(sent) };
        replace(result, testResult(answer));
        // Edited while the test ran: that answer is about other fields.
        forgetTestIfChanged();
      } catch (error) {
        if (isAbort(error)) return;
        showProblem(error);
      }
    });
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const missing = missingRequired({ forTest: false });
    if (missing.length) {
      showFieldErrors(form, missing);
      replace(result);
      return;
    }
    replace(result, loading("Creating the connection…"));
    await busy(createButton, "Creating…", async () => {
      try {
        const data = body({ forTest: false });
        const token = testToken();
        if (token) data.test_token = token;
        const connection = await api("/connections", { method: "POST", body: data, signal });
        replace(result);
        await onCreated(connection);
      } catch (error) {
        if (isAbort(error)) return;
        if (error instanceof ApiError && error.status === 409) {
          showFieldErrors(form, [{ field: "name", message: "is already taken by another connection" }]);
        }
        showProblem(error);
      }
    });
  });

  showType();
  api("/aws/setup", { signal })
    .then((answer) => {
      setup = answer;
      showType();
    })
    .catch(() => {
      // The setup help is a convenience: without it the form works the same.
    });
  return form;
}
