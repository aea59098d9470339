// The Real-time updates panel of one connection: opt in with an ingest token, see whether AWS's
// change events arrive and what became of them, and get the AWS side (CloudFormation) to deploy.
// The token is shown once, from the POST's answer, and lives only in the page: never stored.

import { api, isAbort } from "../api.js";
import {
  announce,
  badge,
  busy,
  cell,
  confirmDialog,
  copyBlock,
  copyableCode,
  formatDateTime,
  formatRelative,
  h,
  loading,
  nextId,
  notice,
  plural,
  problemBox,
  regionName,
  replace,
  secretPanel,
  timeElement,
} from "../dom.js";

// Part of the public contract (the ingest endpoint's security scheme); the setup repeats it.
const TOKEN_HEADER = "X-Onboarder-Ingest-Token";
const TOKEN_PARAMETER = "IngestToken";
// Recent triggers shown before "Show all".
const RECENT_SHOWN = 5;

const TRIGGER_STATUS = {
  pending: ["Pending", "neutral"],
  processing: ["Syncing", "info"],
  done: ["Done", "ok"],
  dropped: ["Dropped", "warn"],
  failed: ["Failed", "error"],
};

const OUTCOMES = {
  onboarded: ["Onboarded", "ok"],
  synced: ["Synced", "ok"],
  unchanged: ["Unchanged", "neutral"],
  retired: ["Retired", "neutral"],
  held_for_approval: ["Held for approval", "info"],
  no_stage: ["No stage deployed yet", "neutral"],
  gone: ["Gone from AWS", "neutral"],
};

// Why a trigger was dropped, or which AWS failure stopped its sync.
const REASONS = {
  account_not_reached: "Account not reached by this connection",
  region_not_reached: "Not an API Gateway region of this connection",
  out_of_scope: "Out of the schedule's scope",
  no_schedule: "New API, and no auto-onboard schedule",
  connection_deleted: "Connection deleted",
  internal_error: "Unexpected error in the sync",
  role_not_assumable: "AWS: the role could not be assumed",
  access_denied: "AWS denied access",
  invalid_credentials: "AWS refused the credentials",
  expired_credentials: "AWS: the credentials expired",
  throttled: "AWS throttled the sync",
  aws_unreachable: "AWS could not be reached",
  aws_timeout: "AWS did not answer in time",
  region_not_enabled: "Region not enabled in the account",
  region_denied_by_policy: "Region denied by the organization's policy",
};

function reasonLabel(code) {
  if (!code) return "";
  return REASONS[code] || "The sync failed in AWS";
}

function statusBadge(trigger) {
  if (trigger.status === "done" && OUTCOMES[trigger.outcome]) return badge(...OUTCOMES[trigger.outcome]);
  const [text, kind] = TRIGGER_STATUS[trigger.status] || [trigger.status, "neutral"];
  return badge(text, kind);
}

/** "API a1b2c3" or "Domain api.example.com" for a trigger's `api:<id>` / `domain:<name>`. */
function targetText(target) {
  const [, kind, name] = /^([a-z]+):(.+)$/.exec(target) || [];
  if (kind === "api") return `API ${name}`;
  if (kind === "domain") return `Domain ${name}`;
  return target;
}

function moment(iso) {
  return timeElement(iso, `${formatRelative(iso)} (${formatDateTime(iso)})`);
}

function fact(term, value, key) {
  return h("div", { dataset: { fact: key } }, h("dt", {}, term), h("dd", {}, value));
}


export function realtimePanel(connection, context) {
  const base = `/connections/${connection.id}`;
  const { signal } = context;
  const headingId = nextId("realtime");
  const setupId = nextId("realtime-setup");
  const state = h("span", { class: "realtime-state" });
  // What the last action did (or the problem it met), and the token shown once.
  const messageSlot = h("div", { class: "realtime-message", "aria-live": "polite" });
  const tokenSlot = h("div", { class: "realtime-token" });
  const statusSlot = h("div", { class: "stack" }, loading("Loading real-time status…"));
  const setupHeadingId = nextId("realtime-setup-title");
  const setupBody = h("div", { class: "stack" });
  const setupSlot = h("section", { class: "stack realtime-setup", id: setupId, hidden: true, "aria-labelledby": setupHeadingId }, h("h4", { id: setupHeadingId }, "Set up AWS"), setupBody);
  const panel = h(
    "section",
    { class: "panel realtime stack", "aria-labelledby": headingId },
    h("div", { class: "card-head" }, h("h3", { id: headingId }, "Real-time updates"), state),
    h(
      "p",
      { class: "muted" },
      "AWS tells Onboarder about each API Gateway change as it happens (CloudTrail through EventBridge), and the changed API is synced within minutes. Scheduled discovery keeps running as the backstop.",
    ),
    messageSlot,
    tokenSlot,
    statusSlot,
    setupSlot,
  );
  let setupOpen = false;
  let setupLoaded = false;

  function setState(enabled) {
    replace(state, enabled === null ? null : enabled ? badge("On", "ok") : badge("Off", "neutral"));
  }

  function say(...children) {
    replace(messageSlot, ...children);
  }

  async function load() {
    try {
      render(await api(`${base}/ingest`, { signal }));
    } catch (error) {
      if (isAbort(error)) return;
      setState(null);
      const retry = h("button", { type: "button", class: "button button-small" }, "Try Again");
      retry.addEventListener("click", () => busy(retry, "Loading…", load));
      replace(statusSlot, problemBox(error, { title: "The real-time status could not be loaded" }), h("div", { class: "actions" }, retry));
    }
  }

  function render(status) {
    setState(status.enabled);
    const setupButton = h(
      "button",
      { type: "button", class: "button button-small", "aria-expanded": String(setupOpen), "aria-controls": setupId },
      "Set Up AWS",
    );
    setupButton.addEventListener("click", () => toggleSetup(setupButton));
    let buttons;
    if (status.enabled) {
      const refresh = h("button", { type: "button", class: "button button-small realtime-refresh" }, "Refresh");
      refresh.addEventListener("click", async () => {
        await busy(refresh, "Refreshing…", load);
        // The panel was drawn again: the new button takes the focus over.
        statusSlot.querySelector(".realtime-refresh")?.focus();
      });
      const rotate = h("button", { type: "button", class: "button button-small" }, "Rotate Token");
      rotate.addEventListener("click", () => rotateToken(rotate));
      const off = h("button", { type: "button", class: "button button-small button-danger-ghost" }, "Turn Off");
      off.addEventListener("click", () => turnOff(off));
      buttons = [refresh, setupButton, rotate, off];
    } else {
      const on = h("button", { type: "button", class: "button button-primary button-small" }, "Turn On");
      on.addEventListener("click", () => issueToken(on, { rotating: false }));
      buttons = [on, setupButton];
    }
    replace(
      statusSlot,
      h(
        "p",
        { class: "realtime-summary" },
        status.enabled
          ? `On: AWS's events for this connection are accepted with its ingest token (created ${formatDateTime(status.token_created_at)}).`
          : "Off: changes in AWS are found by the scheduled discovery only. Turn on to get an ingest token, then deploy the AWS side (Set Up AWS).",
      ),
      h(
        "dl",
        { class: "facts realtime-facts" },
        status.enabled
          ? [
              fact("Last event received", status.last_event_at ? moment(status.last_event_at) : "No event received yet", "last_event"),
              fact("Events in the last 24 h", String(status.events_24h), "events_24h"),
              fact("Pending triggers", String(status.pending), "pending"),
            ]
          : null,
        fact("Ingest URL", copyableCode(status.ingest_url, "ingest URL"), "ingest_url"),
        fact("Token header", h("code", {}, TOKEN_HEADER), "token_header"),
      ),
      droppedList(status.dropped_24h),
      recentTriggers(status.recent, status.enabled),
      h("div", { class: "actions realtime-actions" }, buttons),
    );
  }

  function droppedList(dropped) {
    if (!dropped.length) return null;
    const titleId = nextId("realtime-dropped");
    return h(
      "div",
      { class: "realtime-dropped stack" },
      h("h4", { id: titleId }, "Dropped in the last 24 h"),
      h(
        "ul",
        { class: "realtime-dropped-list", "aria-labelledby": titleId },
        dropped.map((entry) =>
          h(
            "li",
            { dataset: { reason: entry.reason } },
            h(
              "p",
              { class: "realtime-dropped-head" },
              h("strong", {}, reasonLabel(entry.reason)),
              " ",
              badge(plural(entry.count, "trigger"), "warn"),
              " ",
              h("code", { class: "muted" }, entry.reason),
            ),
            entry.detail ? h("p", { class: "realtime-dropped-detail" }, entry.detail) : null,
          ),
        ),
      ),
    );
  }

  function recentTriggers(recent, enabled) {
    if (!recent.length) return enabled ? h("p", { class: "muted realtime-recent-empty" }, "No trigger yet: the first API Gateway change AWS sends shows here.") : null;
    const slot = h("div", { class: "realtime-recent stack" });
    let all = false;
    function fill() {
      const more = h("button", { type: "button", class: "button button-ghost button-small" }, all ? "Show fewer" : `Show all ${recent.length}`);
      more.addEventListener("click", () => {
        all = !all;
        fill();
        slot.querySelector(".actions button").focus();
      });
      replace(
        slot,
        h("h4", {}, "Recent triggers"),
        h(
          "table",
          { class: "table table-compact realtime-triggers", "aria-label": `Recent triggers of ${connection.name}` },
          h("thead", {}, h("tr", {}, ["Received", "Event", "Account / region", "Target", "Result", "Reason"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, (all ? recent : recent.slice(0, RECENT_SHOWN)).map(triggerRow)),
        ),
        recent.length > RECENT_SHOWN ? h("div", { class: "actions" }, more) : null,
      );
    }
    fill();
    return slot;
  }

  function triggerRow(trigger) {
    return h(
      "tr",
      { dataset: { triggerId: trigger.id, status: trigger.status } },
      cell("Received", timeElement(trigger.received_at, formatRelative(trigger.received_at))),
      cell("Event", h("span", { class: "mono" }, trigger.event_name)),
      cell("Account / region", h("span", { class: "mono" }, trigger.account_id), " / ", h("span", { class: "mono", title: regionName(trigger.region) || undefined }, trigger.region)),
      cell("Target", h("span", { class: "mono" }, targetText(trigger.target))),
      cell(
        "Result",
        statusBadge(trigger),
        trigger.application_id ? [" ", h("a", { href: `#/applications/${trigger.application_id}` }, "View application")] : null,
      ),
      cell("Reason", trigger.reason_code ? [h("span", {}, reasonLabel(trigger.reason_code)), trigger.reason ? h("span", { class: "muted small realtime-reason" }, trigger.reason) : null] : "—"),
    );
  }

  // ------------------------------------------------------------------------------ token

  function showToken(answer, { rotating }) {
    const done = h("button", { type: "button", class: "button button-small" }, "Done, I kept it");
    done.addEventListener("click", () => {
      replace(tokenSlot);
      statusSlot.querySelector(".realtime-actions button")?.focus();
    });
    replace(
      tokenSlot,
      secretPanel({
        title: rotating ? "New ingest token" : "Ingest token",
        secret: answer.token,
        body: [
          h("p", { class: "strong" }, "Copy it now: it will not be shown again."),
          h(
            "p",
            { class: "help" },
            rotating
              ? `The old token stopped working: update the ${TOKEN_PARAMETER} parameter of the AWS stack (or StackSet) to this one.`
              : `Paste it as the ${TOKEN_PARAMETER} parameter when you deploy the AWS side (Set Up AWS). AWS sends it in the ${TOKEN_HEADER} header to `,
            rotating ? null : h("span", { class: "mono" }, answer.ingest_url),
            rotating ? null : ".",
          ),
          h("div", { class: "actions" }, done),
        ],
      }),
    );
  }

  async function issueToken(button, { rotating }) {
    say();
    await busy(button, rotating ? "Rotating…" : "Turning on…", async () => {
      try {
        const answer = await api(`${base}/ingest-token`, { method: "POST", signal });
        showToken(answer, { rotating });
        tokenSlot.querySelector("input").focus();
        await load();
        announce(rotating ? "New ingest token shown once" : "Real-time updates on: the ingest token is shown once");
      } catch (error) {
        if (isAbort(error)) return;
        say(problemBox(error, { title: rotating ? "The token could not be rotated" : "Real-time updates could not be turned on" }));
        await load();
      }
    });
  }

  async function rotateToken(button) {
    const confirmed = await confirmDialog({
      title: "Rotate the ingest token?",
      text: `A new token is made and shown once. The current token stops working at once: until the ${TOKEN_PARAMETER} parameter of the AWS stack (or StackSet) is updated to the new token, AWS's events for ${connection.name} are refused.`,
      confirmLabel: "Rotate Token",
    });
    if (confirmed) await issueToken(button, { rotating: true });
  }

  async function turnOff(button) {
    const confirmed = await confirmDialog({
      title: "Turn off real-time updates?",
      text: `The ingest token stops working at once: AWS's events for ${connection.name} are refused, and changes are found by the scheduled discovery only. Delete the forwarding stacks in AWS too. Turning on again makes a new token.`,
      confirmLabel: "Turn Off",
    });
    if (!confirmed) return;
    say();
    await busy(button, "Turning off…", async () => {
      try {
        await api(`${base}/ingest-token`, { method: "DELETE", signal });
        replace(tokenSlot);
        say(notice("success", "Real-time updates turned off"));
      } catch (error) {
        if (isAbort(error)) return;
        say(problemBox(error, { title: "Real-time updates could not be turned off" }));
      }
      await load();
    });
    statusSlot.querySelector(".realtime-actions button")?.focus();
  }

  // ------------------------------------------------------------------------------ AWS side

  function toggleSetup(button) {
    setupOpen = !setupOpen;
    button.setAttribute("aria-expanded", String(setupOpen));
    setupSlot.hidden = !setupOpen;
    if (setupOpen && !setupLoaded) loadSetup();
  }

  async function loadSetup() {
    replace(setupBody, loading("Loading the AWS setup…"));
    try {
      const setup = await api(`${base}/ingest/setup`, { signal });
      setupLoaded = true;
      renderSetup(setup);
    } catch (error) {
      if (isAbort(error)) return;
      const retry = h("button", { type: "button", class: "button button-small" }, "Try Again");
      retry.addEventListener("click", () => busy(retry, "Loading…", loadSetup));
      replace(setupBody, problemBox(error, { title: "The AWS setup could not be loaded" }), h("div", { class: "actions" }, retry));
    }
  }

  function renderSetup(setup) {
    const stackset = setup.template_kind === "stackset";
    const templates = stackset
      ? [
          copyBlock({
            title: "Organization template: a StackSet for every member account (CloudFormation, YAML)",
            text: setup.cloudformation_template,
            filename: "onboarder-events-org.yaml",
            type: "application/yaml",
            help: "One stack in the management account, in any one region.",
          }),
          copyBlock({
            title: "Account template: the management account's own stacks (CloudFormation, YAML)",
            text: setup.account_template,
            filename: "onboarder-events.yaml",
            type: "application/yaml",
            help: "StackSets never deploy to the management account: one stack per region there, if it has APIs.",
          }),
        ]
      : [
          copyBlock({
            title: "Forwarding template (CloudFormation, YAML)",
            text: setup.cloudformation_template,
            filename: "onboarder-events.yaml",
            type: "application/yaml",
            help: "One stack per region in the connection's account.",
          }),
        ];
    replace(
      setupBody,
      h(
        "p",
        { class: "muted" },
        stackset
          ? "A StackSet from the organization's management account gives every member account a forwarding stack in each region."
          : "A forwarding stack in each region sends API Gateway's changes from the connection's account.",
        ` The stacks take the ingest token as their ${TOKEN_PARAMETER} parameter and send it in the ${setup.token_header} header.`,
      ),
      h(
        "dl",
        { class: "facts" },
        fact(
          stackset ? "Regions (the StackSet's default)" : "Regions",
          setup.regions.length
            ? h("ul", { class: "realtime-regions" }, setup.regions.map((region) => h("li", {}, h("code", { title: regionName(region) || undefined }, region))))
            : "Each region where it has APIs to watch",
          "regions",
        ),
      ),
      h("ol", { class: "setup-steps realtime-steps" }, setup.instructions.map((step) => h("li", {}, step))),
      templates,
    );
  }

  load();
  return panel;
}
