// Small DOM helpers. Text always goes in as text (never as HTML), so data cannot inject markup.

const PROPERTIES = new Set(["value", "checked", "disabled", "selected", "hidden", "indeterminate"]);

/** h("button", {type: "button", onClick}, "Save") */
export function h(tag, props, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (PROPERTIES.has(name)) element[name] = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

export function append(parent, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : String(child));
  }
  return parent;
}

export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

let uid = 0;
export function nextId(prefix = "f") {
  uid += 1;
  return `${prefix}-${uid}`;
}

export function announce(message) {
  const region = document.getElementById("announcer");
  if (!region) return;
  region.textContent = "";
  // A fresh text node makes screen readers speak the same message twice in a row.
  window.setTimeout(() => {
    region.textContent = message;
  }, 30);
}

// ------------------------------------------------------------------------------------ states

export function spinner() {
  return h("span", { class: "spinner", "aria-hidden": "true" });
}

/** A block that says what is loading (role=status: announced, not interrupting). */
export function loading(text) {
  return h("div", { class: "loading", role: "status" }, spinner(), h("span", {}, text));
}

export function emptyState(title, text, ...actions) {
  return h(
    "div",
    { class: "empty" },
    h("p", { class: "empty-title" }, title),
    text ? h("p", { class: "muted" }, text) : null,
    actions.length ? h("div", { class: "actions" }, actions) : null,
  );
}

/** The problem+json of an ApiError (or any error) with its hint and field errors. */
export function problemBox(error, { title } = {}) {
  const problem = error && error.problem ? error.problem : { title: "Something went wrong", detail: String(error && error.message ? error.message : error) };
  const fieldErrors = Array.isArray(problem.errors) ? problem.errors : [];
  return h(
    "div",
    { class: "alert alert-error", role: "alert", dataset: { code: problem.code || "" } },
    h("p", { class: "alert-title" }, title || problem.title || "Request failed"),
    problem.detail && problem.detail !== problem.title ? h("p", {}, problem.detail) : null,
    fieldErrors.length
      ? h("ul", { class: "field-list" }, fieldErrors.map((e) => h("li", {}, h("code", {}, e.field), " ", e.message)))
      : null,
    problem.hint ? h("p", { class: "hint" }, h("strong", {}, "What to do: "), problem.hint) : null,
    problem.code || problem.request_id
      ? h(
          "p",
          { class: "alert-meta" },
          problem.code ? `code ${problem.code}` : "",
          problem.code && problem.request_id ? " · " : "",
          problem.request_id ? `request ${problem.request_id}` : "",
        )
      : null,
  );
}

export function notice(kind, title, ...body) {
  return h(
    "div",
    { class: `alert alert-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("p", { class: "alert-title" }, title),
    body,
  );
}

/** Runs `work` with the button disabled and saying what happens; restores it afterwards. */
export async function busy(button, label, work) {
  const original = [...button.childNodes];
  const form = button.form;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  replace(button, spinner(), label);
  if (form) form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    replace(button, ...original);
    if (form) form.removeAttribute("aria-busy");
  }
}

// ------------------------------------------------------------------------------------ forms

/** A labelled control: the label, the control, an optional help line, a slot for its error. */
export function field(label, control, { help, optional } = {}) {
  control.id ||= nextId(control.name || "field");
  const helpId = help ? `${control.id}-help` : null;
  if (helpId) control.setAttribute("aria-describedby", helpId);
  return h(
    "div",
    { class: "field", dataset: { field: control.name || "" } },
    h("label", { for: control.id }, label, optional ? h("span", { class: "optional" }, " (optional)") : null),
    control,
    help ? h("p", { class: "help", id: helpId }, help) : null,
  );
}

export function select(name, options, { value, required, ...rest } = {}) {
  return h(
    "select",
    { name, required, ...rest },
    options.map(([optionValue, text]) =>
      h("option", { value: optionValue, selected: String(optionValue) === String(value ?? "") }, text),
    ),
  );
}

export function clearFieldErrors(form) {
  for (const message of form.querySelectorAll(".field-error")) message.remove();
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
}

/** Puts each `errors[]` entry of a 422 next to its control; returns those it could not place. */
export function showFieldErrors(form, errors) {
  clearFieldErrors(form);
  const unplaced = [];
  let first = null;
  for (const error of errors || []) {
    const name = String(error.field).replace(/\[\d+\]$|\.\d+$/, "");
    const control = form.querySelector(`[name="${CSS.escape(error.field)}"], [name="${CSS.escape(name)}"]`);
    const container = control ? control.closest(".field, fieldset") : null;
    if (!control || !container || control.disabled) {
      unplaced.push(error);
      continue;
    }
    const id = nextId("error");
    container.append(h("p", { class: "field-error", id }, error.message));
    control.setAttribute("aria-invalid", "true");
    const described = control.getAttribute("aria-describedby");
    control.setAttribute("aria-describedby", described ? `${described} ${id}` : id);
    first ||= control;
  }
  if (first) first.focus();
  return unplaced;
}

// ------------------------------------------------------------------------------------ formats

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

export function formatDateTime(iso) {
  return iso ? dateTime.format(new Date(iso)) : "—";
}

export function formatDate(iso) {
  return iso ? dateOnly.format(new Date(iso)) : "—";
}

/** A moment in the browser's time zone, naming the zone ("Nov 24, 2026, 2:00 AM CET"). */
export function formatLocal(iso, timeZone) {
  if (!iso) return "—";
  const options = { weekday: "short", year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" };
  if (timeZone) options.timeZone = timeZone;
  return new Intl.DateTimeFormat(undefined, options).format(new Date(iso));
}

export function browserTimeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** How long ago, said for a person ("5 minutes ago", "just now"); "never" without a moment. */
export function formatRelative(iso, now = Date.now()) {
  if (!iso) return "never";
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  if (Math.abs(seconds) < 45) return "just now";
  const units = [
    ["year", 365 * 24 * 3600],
    ["month", 30 * 24 * 3600],
    ["week", 7 * 24 * 3600],
    ["day", 24 * 3600],
    ["hour", 3600],
    ["minute", 60],
  ];
  const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "always" });
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size || unit === "minute") return relative.format(Math.round(seconds / size), unit);
  }
  return "just now";
}

/** A moment as a <time> element: the text as given, the exact moment on hover. */
export function timeElement(iso, text) {
  return h("time", { datetime: iso, title: iso ? formatDateTime(iso) : undefined }, text ?? formatDateTime(iso));
}

export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}

// ------------------------------------------------------------------------------------ bits

/** A table cell; its content stays one block when narrow screens show rows as cards. */
export function cell(label, ...content) {
  return h("td", { "data-label": label }, h("div", { class: "cell" }, content));
}

export function badge(text, kind = "neutral", title) {
  return h("span", { class: `badge badge-${kind}`, title }, text);
}

/** Said wherever a URL answers only inside the customer's VPC (a PRIVATE API). */
export const VPC_ONLY_TEXT = "Reachable only from inside the customer's VPC: a scanner outside that VPC cannot reach it.";

/** "internet" or "vpc_only" for an instance or a discovered API (older answers: from the endpoint type). */
export function reachableFrom(item, endpointType) {
  return item.reachable_from || (endpointType === "PRIVATE" ? "vpc_only" : "internet");
}

/** An application's lifecycle status (older answers without one say nothing). */
const APPLICATION_STATUS = {
  active: ["Active", "ok", "Its API is in AWS."],
  retired: ["Retired", "neutral", "The API is gone from AWS."],
  orphaned: ["Orphaned", "warn", "No connection of this tenant reaches its account any more."],
};

export function applicationStatus(application) {
  const status = application.status;
  if (!status) return null;
  const [label, kind, help] = APPLICATION_STATUS[status] || [status, "neutral", ""];
  const since = status === "retired" ? application.retired_at : status === "orphaned" ? application.orphaned_at : null;
  const element = badge(since ? `${label} ${formatDate(since)}` : label, kind, help || undefined);
  element.classList.add("status-badge");
  element.dataset.status = status;
  return element;
}

export function applicationStatusHelp(status) {
  return APPLICATION_STATUS[status] ? APPLICATION_STATUS[status][2] : "";
}

const CONNECTION_STATUS = {
  ok: ["Connected", "ok"],
  failed: ["Failed", "error"],
  untested: ["Untested", "neutral"],
};

export function connectionStatus(connection) {
  const [text, kind] = CONNECTION_STATUS[connection.status] || [connection.status, "neutral"];
  return badge(text, kind, connection.last_error_code ? `last error: ${connection.last_error_code}` : undefined);
}

export const CREDENTIAL_TYPES = {
  central_role: {
    label: "Central role (AWS Organizations)",
    short: "Central role",
    help: "One role in the management account reaches every account of the organization.",
  },
  assume_role: {
    label: "Assume role (one account)",
    short: "Assume role",
    help: "A role in one AWS account that trusts Onboarder, with your external id.",
  },
  aws_user: {
    label: "IAM user access key (one account)",
    short: "IAM user",
    help: "The access key of an IAM user allowed apigateway:GET.",
  },
};

export function connectionIdentity(connection) {
  return (
    connection.central_role_arn ||
    connection.role_arn ||
    connection.access_key_id_masked ||
    connection.account_id ||
    ""
  );
}

/** Region names as the AWS console shows them; an unknown region shows its code only. */
const REGION_NAMES = {
  "us-east-1": "US East (N. Virginia)",
  "us-east-2": "US East (Ohio)",
  "us-west-1": "US West (N. California)",
  "us-west-2": "US West (Oregon)",
  "af-south-1": "Africa (Cape Town)",
  "ap-east-1": "Asia Pacific (Hong Kong)",
  "ap-east-2": "Asia Pacific (Taipei)",
  "ap-south-1": "Asia Pacific (Mumbai)",
  "ap-south-2": "Asia Pacific (Hyderabad)",
  "ap-southeast-1": "Asia Pacific (Singapore)",
  "ap-southeast-2": "Asia Pacific (Sydney)",
  "ap-southeast-3": "Asia Pacific (Jakarta)",
  "ap-southeast-4": "Asia Pacific (Melbourne)",
  "ap-southeast-5": "Asia Pacific (Malaysia)",
  "ap-southeast-7": "Asia Pacific (Thailand)",
  "ap-northeast-1": "Asia Pacific (Tokyo)",
  "ap-northeast-2": "Asia Pacific (Seoul)",
  "ap-northeast-3": "Asia Pacific (Osaka)",
  "ca-central-1": "Canada (Central)",
  "ca-west-1": "Canada West (Calgary)",
  "eu-central-1": "Europe (Frankfurt)",
  "eu-central-2": "Europe (Zurich)",
  "eu-west-1": "Europe (Ireland)",
  "eu-west-2": "Europe (London)",
  "eu-west-3": "Europe (Paris)",
  "eu-north-1": "Europe (Stockholm)",
  "eu-south-1": "Europe (Milan)",
  "eu-south-2": "Europe (Spain)",
  "il-central-1": "Israel (Tel Aviv)",
  "me-south-1": "Middle East (Bahrain)",
  "me-central-1": "Middle East (UAE)",
  "mx-central-1": "Mexico (Central)",
  "sa-east-1": "South America (São Paulo)",
  "us-gov-east-1": "AWS GovCloud (US-East)",
  "us-gov-west-1": "AWS GovCloud (US-West)",
  "cn-north-1": "China (Beijing)",
  "cn-northwest-1": "China (Ningxia)",
};

export function regionName(code) {
  return REGION_NAMES[code] || "";
}

/**
 * A modal confirmation (native <dialog>: focus stays inside, Escape cancels).
 * Resolves true when the user confirms.
 */
export function confirmDialog({ title, text, confirmLabel, danger = true }) {
  return new Promise((resolve) => {
    const titleId = nextId("dialog-title");
    const cancel = h("button", { type: "button", class: "button", value: "cancel" }, "Cancel");
    const confirm = h("button", { type: "button", class: danger ? "button button-danger" : "button button-primary", value: "confirm" }, confirmLabel);
    const dialog = h(
      "dialog",
      { class: "dialog", "aria-labelledby": titleId },
      h("h2", { id: titleId }, title),
      h("p", {}, text),
      h("div", { class: "actions" }, confirm, cancel),
    );
    const previous = document.activeElement;
    let answer = false;
    confirm.addEventListener("click", () => {
      answer = true;
      dialog.close();
    });
    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (previous && previous.isConnected) previous.focus();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/** What an event of the feed (and a webhook delivery) is, said for a person: [label, badge kind]. */
export const EVENT_TYPES = {
  "application.onboarded": ["Application onboarded", "info"],
  "application.changed": ["Application changed", "info"],
  "application.exposure_increased": ["Exposure increased", "warn"],
  "application.retired": ["Application retired", "neutral"],
  "application.orphaned": ["Application orphaned", "warn"],
  "application.restored": ["Application restored", "ok"],
  "run.finished": ["Auto-onboard run finished", "neutral"],
  "connection.failed": ["Connection failed", "error"],
  "webhook.test": ["Webhook test", "neutral"],
  "webhook.disabled": ["Webhook disabled", "error"],
};

export function eventTypeLabel(type) {
  return (EVENT_TYPES[type] || [type])[0];
}

export function eventTypeBadge(type) {
  const [label, kind] = EVENT_TYPES[type] || [type, "neutral"];
  return badge(label, kind);
}

/**
 * A secret shown once: the value, a Copy button, and what to know about it (`body`).
 * Copying falls back to selecting the text where the clipboard is not available.
 */
export function secretPanel({ title, secret, body }) {
  const titleId = nextId("secret-title");
  const value = h("input", {
    type: "text",
    class: "secret-value mono",
    value: secret,
    readonly: true,
    spellcheck: "false",
    autocomplete: "off",
    "aria-labelledby": titleId,
  });
  const status = h("span", { class: "muted small", role: "status" });
  const copy = h("button", { type: "button", class: "button button-primary button-small" }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(secret);
      status.textContent = "Copied to the clipboard.";
    } catch {
      value.focus();
      value.select();
      status.textContent = document.execCommand && document.execCommand("copy") ? "Copied to the clipboard." : "Selected: copy it with your keyboard.";
    }
  });
  value.addEventListener("focus", () => value.select());
  return h(
    "div",
    { class: "panel stack secret-panel", role: "region", "aria-labelledby": titleId },
    h("p", { class: "alert-title", id: titleId }, title),
    h("div", { class: "secret-row" }, value, copy),
    status,
    body,
  );
}

// ------------------------------------------------------------------------------------ copy, download

/**
 * Puts `text` on the clipboard. Where the clipboard is refused (no permission, not a secure
 * page), selects `target`'s text instead so that the keyboard can copy it.
 * Resolves "copied" or "selected".
 */
export async function copyText(text, target) {
  try {
    await navigator.clipboard.writeText(text);
    return "copied";
  } catch {
    if (target) {
      if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) {
        target.focus();
        target.select();
      } else {
        const selection = window.getSelection();
        selection.removeAllRanges();
        const range = document.createRange();
        range.selectNodeContents(target);
        selection.addRange(range);
      }
    }
    return "selected";
  }
}

/** A Copy button for `text()` (or a string) that says "Copied" next to itself for a moment. */
/** A value to paste elsewhere (an id, an ARN, a URL), in code, with its Copy button. */
export function copyableCode(value, name) {
  const code = h("code", { class: "mono copy-value" }, value);
  return h("div", { class: "copy-value-row" }, code, copyButton(value, { target: code, name }));
}

export function copyButton(text, { label = "Copy", target, name } = {}) {
  const status = h("span", { class: "copy-status", role: "status" });
  const button = h("button", { type: "button", class: "button button-small", "aria-label": name ? `${label} ${name}` : undefined }, label);
  let timer = null;
  button.addEventListener("click", async () => {
    const value = typeof text === "function" ? text() : text;
    const outcome = await copyText(value, typeof target === "function" ? target() : target);
    status.textContent = outcome === "copied" ? "Copied" : "Selected: press Ctrl+C (⌘C on a Mac) to copy";
    status.dataset.outcome = outcome;
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      status.textContent = "";
      delete status.dataset.outcome;
    }, 4000);
  });
  return h("span", { class: "copy-control" }, button, status);
}

/** Saves `text` as a file named `filename` (a Blob behind a download link). */
export function downloadText(text, filename, type = "text/plain") {
  const url = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function downloadButton(text, filename, { type, label = "Download", name } = {}) {
  return h(
    "button",
    {
      type: "button",
      class: "button button-small",
      title: `Save as ${filename}`,
      "aria-label": name ? `${label} ${name}` : undefined,
      onClick: () => downloadText(typeof text === "function" ? text() : text, filename, type),
    },
    label,
  );
}

/**
 * A titled block of text to paste elsewhere (a policy, a template): a <pre> with Copy and,
 * given a `filename`, Download.
 */
export function copyBlock({ title, text, filename, type, help }) {
  const titleId = nextId("block");
  const pre = h("pre", { class: "code-block copy-block-text", tabindex: "0", "aria-labelledby": titleId }, text);
  return h(
    "div",
    { class: "copy-block", dataset: { filename: filename || "" } },
    h(
      "div",
      { class: "copy-block-head" },
      h("p", { class: "copy-block-title", id: titleId }, title),
      h("div", { class: "copy-block-actions" }, copyButton(text, { target: pre, name: title }), filename ? downloadButton(text, filename, { type, name: title }) : null),
    ),
    help ? h("p", { class: "help" }, help) : null,
    pre,
  );
}

/** A text input for an identifier (an ARN, a key id, a name): no autocomplete, spelling or
 * capitals. */
export function textInput(name, attributes) {
  return h("input", {
    type: "text",
    name,
    autocomplete: "off",
    spellcheck: "false",
    autocapitalize: "off",
    ...attributes,
  });
}
