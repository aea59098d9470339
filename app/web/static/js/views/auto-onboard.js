// The Auto-Onboard panel of one connection: enable, update, disable, run now, run history.

import { ApiError, api, isAbort } from "../api.js";
import {
  badge,
  browserTimeZone,
  busy,
  cell,
  clearFieldErrors,
  confirmDialog,
  field,
  formatDate,
  formatDateTime,
  formatLocal,
  h,
  loading,
  nextId,
  notice,
  plural,
  problemBox,
  regionName,
  replace,
  select,
  showFieldErrors,
} from "../dom.js";
import { runHash } from "./run.js";
import { excludedAccounts, forgetDirectory, heldForApproval, organizationDirectory, reviewHash, scopeFacts, scopeSection } from "./scope.js";

const DAYS = [
  ["mon", "Monday"],
  ["tue", "Tuesday"],
  ["wed", "Wednesday"],
  ["thu", "Thursday"],
  ["fri", "Friday"],
  ["sat", "Saturday"],
  ["sun", "Sunday"],
];
const RUN_STATUS = {
  queued: ["Queued", "neutral"],
  running: ["Running", "info"],
  succeeded: ["Succeeded", "ok"],
  partial: ["Partial", "warn"],
  failed: ["Failed", "error"],
};
const POLL_MS = 1000;
const POLL_LIMIT_MS = 10 * 60 * 1000;

function pad(value) {
  return String(value).padStart(2, "0");
}

function ordinal(day) {
  const suffix = day % 10 === 1 && day !== 11 ? "st" : day % 10 === 2 && day !== 12 ? "nd" : day % 10 === 3 && day !== 13 ? "rd" : "th";
  return `${day}${suffix}`;
}

export function describeSchedule(schedule) {
  const time = `${pad(schedule.hour)}:${pad(schedule.minute)}`;
  const day = (DAYS.find(([key]) => key === schedule.day_of_week) || [null, schedule.day_of_week])[1];
  const when =
    schedule.frequency === "daily"
      ? "Daily"
      : schedule.frequency === "weekly"
        ? `Weekly on ${day}`
        : `Monthly on the ${ordinal(schedule.day_of_month)}`;
  return `${when} at ${time} (${schedule.timezone})`;
}

export function runBadge(status) {
  const [text, kind] = RUN_STATUS[status] || [status, "neutral"];
  return badge(text, kind);
}

function timeZones(...extra) {
  let zones = [];
  try {
    zones = Intl.supportedValuesOf("timeZone");
  } catch {
    zones = ["UTC"];
  }
  return [...new Set([...zones, "UTC", ...extra.filter(Boolean)])].sort();
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = window.setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        window.clearTimeout(timer);
        reject(new DOMException("aborted", "AbortError"));
      },
      { once: true },
    );
  });
}

export function autoOnboardPanel(connection, context) {
  const base = `/connections/${connection.id}/auto-onboard`;
  const headingId = nextId("auto-onboard");
  const state = h("span", {});
  const bodySlot = h("div", { class: "stack" });
  const panel = h(
    "section",
    { class: "panel auto-onboard stack", "aria-labelledby": headingId },
    h("div", { class: "card-head" }, h("h3", { id: headingId }, "Auto-Onboard"), state),
    bodySlot,
  );
  const singleAccount = connection.credential_type !== "central_role";
  let schedule = null;
  let regionsPromise = null;

  function regions() {
    regionsPromise ||= api(`/connections/${connection.id}/regions`, { signal: context.signal }).then((answer) => answer.items);
    regionsPromise.catch(() => {
      regionsPromise = null;
    });
    return regionsPromise;
  }

  function setState(on) {
    replace(state, on ? badge("On", "ok") : badge("Off", "neutral"));
  }

  async function loadSchedule() {
    replace(bodySlot, loading("Loading the schedule…"));
    try {
      schedule = await api(base, { signal: context.signal });
      showOn();
    } catch (error) {
      if (isAbort(error)) return;
      if (error instanceof ApiError && error.status === 404) {
        schedule = null;
        showOff();
        return;
      }
      replace(bodySlot, problemBox(error), h("div", { class: "actions" }, h("button", { type: "button", class: "button", onClick: loadSchedule }, "Try Again")));
    }
  }

  function showOff(message) {
    setState(false);
    const enable = h("button", { type: "button", class: "button button-primary button-small" }, "Enable Auto-Onboard");
    enable.addEventListener("click", () => showForm());
    // Past runs stay listed after the schedule is disabled (shown only when there are some).
    const history = h("div", { class: "stack" });
    replace(
      bodySlot,
      message || null,
      h("p", { class: "muted" }, "Onboard every new API this connection finds, on a schedule: new APIs become applications, new stages become instances."),
      h("div", { class: "actions" }, enable),
      history,
    );
    loadHistory(history, { quietWhenEmpty: true });
  }

  function showOn(message) {
    setState(true);
    const zone = browserTimeZone();
    const next = h(
      "dd",
      { class: "next-run" },
      h("time", { datetime: schedule.next_run_at }, formatLocal(schedule.next_run_at)),
      schedule.timezone !== zone ? h("span", { class: "muted" }, ` · ${formatLocal(schedule.next_run_at, schedule.timezone)} in ${schedule.timezone}`) : null,
    );
    const regionText = schedule.regions && schedule.regions.length ? schedule.regions.join(", ") : "Every enabled region of every account";
    const scopeText = schedule.scope === "published_after" ? `APIs created on or after ${formatDate(`${schedule.published_after}T00:00:00`)}` : "All APIs";

    const scopeList = scopeFacts(schedule).map(([term, text, key]) => {
      const dd = h("dd", { dataset: { scope: key } }, text);
      return [key, dd, h("div", {}, h("dt", {}, term), dd)];
    });
    if (!singleAccount && (schedule.accounts || schedule.organizational_units)) {
      // Names beside the ids, once the organization has been listed.
      organizationDirectory(connection, context.signal).then((directory) => {
        for (const [term, text, key] of scopeFacts(schedule, directory)) {
          const found = scopeList.find(([k]) => k === key);
          if (found && term) replace(found[1], text);
        }
      });
    }
    const review = schedule.approval ? reviewLink() : null;

    const edit = h("button", { type: "button", class: "button button-small" }, "Edit Schedule");
    const runNow = h("button", { type: "button", class: "button button-small" }, "Run Now");
    const disable = h("button", { type: "button", class: "button button-small button-danger-ghost" }, "Disable Schedule");
    const runSlot = h("div", { "aria-live": "polite" });
    const history = h("div", { class: "stack" });
    const messageSlot = h("div", {}, message || null);
    // A message about the last action goes as soon as the next one starts.
    for (const button of [edit, runNow, disable]) button.addEventListener("click", () => replace(messageSlot));

    edit.addEventListener("click", () => showForm(schedule));
    disable.addEventListener("click", async () => {
      const confirmed = await confirmDialog({
        title: "Disable the schedule?",
        text: `Scheduled runs for ${connection.name} stop. Applications already onboarded and the run history stay.`,
        confirmLabel: "Disable Schedule",
      });
      if (!confirmed) return;
      await busy(disable, "Disabling…", async () => {
        try {
          await api(base, { method: "DELETE", signal: context.signal });
          schedule = null;
          showOff(notice("success", "Auto-onboard disabled"));
          bodySlot.querySelector("button").focus();
        } catch (error) {
          if (!isAbort(error)) replace(runSlot, problemBox(error));
        }
      });
    });
    runNow.addEventListener("click", () =>
      busy(runNow, "Starting…", async () => {
        try {
          const run = await api(`${base}/runs`, { method: "POST", signal: context.signal });
          await follow(run, runSlot, history);
        } catch (error) {
          if (isAbort(error)) return;
          if (error instanceof ApiError && error.code === "run_in_progress" && error.problem.run_id) {
            replace(runSlot, notice("info", "A run is already in progress", h("p", {}, "Following it.")));
            const run = await api(`${base}/runs/${error.problem.run_id}`, { signal: context.signal });
            await follow(run, runSlot, history);
            return;
          }
          replace(runSlot, problemBox(error));
        }
      }),
    );

    replace(
      bodySlot,
      messageSlot,
      h(
        "dl",
        { class: "facts" },
        h("div", {}, h("dt", {}, "Schedule"), h("dd", { class: "schedule-text" }, describeSchedule(schedule))),
        h("div", {}, h("dt", {}, "Next run"), next),
        h("div", {}, h("dt", {}, "Regions"), h("dd", {}, regionText)),
        h("div", {}, h("dt", {}, "Which APIs"), h("dd", {}, scopeText)),
        scopeList.map(([, , item]) => item),
      ),
      h("div", { class: "actions" }, runNow, edit, review, disable),
      runSlot,
      history,
    );
    loadHistory(history);
  }

  // The way to the APIs held for approval, with how many wait (when that can be said).
  function reviewLink() {
    const count = h("span", { class: "review-count" });
    const link = h("a", { class: "button button-small review-link", href: reviewHash(connection.id) }, "Review New APIs", count);
    api(`/connections/${connection.id}/candidates`, { query: { status: "pending", limit: 100 }, signal: context.signal })
      .then((page) => {
        const waiting = page.items.length;
        if (waiting) replace(count, " ", badge(page.next_cursor ? `${waiting}+` : String(waiting), "info", `${waiting} waiting for review`));
      })
      .catch(() => {
        // The link still leads to the list, which says what went wrong.
      });
    return link;
  }

  async function follow(run, slot, history) {
    const started = Date.now();
    let current = run;
    let shown = null;
    loadHistory(history);
    while (current.status === "queued" || current.status === "running") {
      if (current.status !== shown) {
        // Only a change of state is announced, not every poll.
        shown = current.status;
        replace(slot, loading(shown === "queued" ? "Run queued: waiting for the scheduler…" : "Running: discovering and onboarding APIs…"));
        if (shown === "running") loadHistory(history);
      }
      if (Date.now() - started > POLL_LIMIT_MS) {
        replace(slot, notice("info", "The run is still going", h("p", {}, "Its result will show in the run history.")));
        return;
      }
      await sleep(POLL_MS, context.signal);
      current = await api(`${base}/runs/${current.id}`, { signal: context.signal });
    }
    const kind = current.status === "succeeded" ? "success" : current.status === "partial" ? "warn" : "error";
    replace(
      slot,
      notice(
        kind,
        `Run ${RUN_STATUS[current.status] ? RUN_STATUS[current.status][0].toLowerCase() : current.status}`,
        h("p", {}, `Discovered ${current.discovered}, onboarded ${current.onboarded}, ${plural(current.instances_added, "instance")} added.`),
        lifecycleCounts(current),
        heldForApproval(current, connection.id),
        excludedAccounts(current),
        runErrors(current),
        deniedRegions(current),
        h("p", {}, h("a", { class: "run-link", href: runHash(connection.id, current.id) }, "View Run Details")),
      ),
    );
    try {
      schedule = await api(base, { signal: context.signal });
    } catch {
      // The history below still shows the run.
    }
    if (current.held_for_approval && schedule && schedule.approval) {
      const link = bodySlot.querySelector(".review-link");
      if (link) link.replaceWith(reviewLink());
    }
    loadHistory(history);
  }

  async function loadHistory(slot, { quietWhenEmpty = false } = {}) {
    if (!slot.childElementCount && !quietWhenEmpty) replace(slot, loading("Loading run history…"));
    try {
      const page = await api(`${base}/runs`, { query: { limit: 10 }, signal: context.signal });
      if (quietWhenEmpty && !page.items.length) return;
      renderHistory(slot, page.items, { quietWhenEmpty });
    } catch (error) {
      if (!isAbort(error)) replace(slot, h("h4", {}, "Run history"), problemBox(error));
    }
  }

  function renderHistory(slot, runs, options) {
    const refresh = h("button", { type: "button", class: "button button-ghost button-small" }, "Refresh");
    refresh.addEventListener("click", () => busy(refresh, "Refreshing…", () => loadHistory(slot, options)));
    replace(
      slot,
      h("div", { class: "card-head" }, h("h4", {}, "Run history"), refresh),
      runs.length
        ? h(
            "table",
            { class: "table table-compact runs", "aria-label": `Auto-onboard runs of ${connection.name}` },
            h("thead", {}, h("tr", {}, columns(runs).map((t) => h("th", { scope: "col" }, t)))),
            h("tbody", {}, runs.map((run) => runRow(run, runs))),
          )
        : h("p", { class: "muted" }, "No run yet."),
    );
  }

  // "Held for review" only where some run of the list was in approval mode.
  function withHeld(runs) {
    return runs.some((run) => run.approval || run.held_for_approval);
  }

  function columns(runs) {
    const names = ["Started", "Trigger", "Status", "Discovered", "Onboarded", "Instances added", "Skipped", "Errors"];
    if (withHeld(runs)) names.splice(5, 0, "Held for review");
    return names;
  }

  function runRow(run, runs) {
    const skipped = (run.skipped_existing || 0) + (run.skipped_out_of_scope || 0) + (run.skipped_no_stage || 0);
    const errors = run.errors || [];
    return h(
      "tr",
      { dataset: { runId: run.id, status: run.status } },
      cell("Started", h("a", { class: "run-link", href: runHash(connection.id, run.id), title: "The run's details" }, formatDateTime(run.started_at || run.created_at || run.scheduled_for))),
      cell("Trigger", run.trigger === "manual" ? "Run Now" : "Scheduled"),
      cell("Status", runBadge(run.status)),
      cell("Discovered", String(run.discovered)),
      cell("Onboarded", String(run.onboarded)),
      withHeld(runs) ? cell("Held for review", String(run.held_for_approval || 0)) : null,
      cell("Instances added", String(run.instances_added)),
      cell(
        "Skipped",
        h("span", { title: `existing ${run.skipped_existing || 0} · out of scope ${run.skipped_out_of_scope || 0} · no stage ${run.skipped_no_stage || 0}` }, String(skipped)),
        excludedAccounts(run, { short: true }),
      ),
      cell("Errors", errors.length ? runErrors(run) : "0"),
    );
  }

  // What the run found of the applications already onboarded (older runs do not say).
  function lifecycleCounts(run) {
    if (!run.synced && !run.retired && !run.orphaned && !run.restored) return null;
    const parts = [`${plural(run.synced, "application")} compared with AWS`, `${plural(run.definitions_changed || 0, "definition")} changed`];
    if (run.retired) parts.push(`${run.retired} retired`);
    if (run.orphaned) parts.push(`${run.orphaned} orphaned`);
    if (run.restored) parts.push(`${run.restored} restored`);
    return h("p", { class: "run-lifecycle" }, `${parts.join(", ")}.`);
  }

  // Regions the organization denies by policy (an SCP, Control Tower's region deny): said, not an error.
  function deniedRegions(run) {
    const denied = run.regions_denied_by_policy || [];
    if (!denied.length) return null;
    return h(
      "p",
      { class: "muted run-denied" },
      `Not listed, denied by the organization's policy: ${denied.map((d) => `${d.account_id} / ${d.region}`).join(", ")}.`,
    );
  }

  function runErrors(run) {
    const errors = run.errors || [];
    if (!errors.length) return null;
    return h(
      "details",
      { class: "run-errors" },
      h("summary", {}, plural(errors.length, "error")),
      h(
        "ul",
        {},
        errors.map((e) =>
          h(
            "li",
            {},
            h("strong", {}, [e.account_id, e.region].filter(Boolean).join(" / ") || "run", ": "),
            e.message,
            " ",
            h("code", {}, e.code),
            e.hint ? h("span", { class: "hint" }, ` What to do: ${e.hint}`) : null,
          ),
        ),
      ),
    );
  }

  function showForm(current) {
    const editing = Boolean(current);
    const values = current || {
      frequency: "weekly",
      day_of_week: "mon",
      day_of_month: 1,
      hour: 2,
      minute: 0,
      timezone: browserTimeZone(),
      regions: [],
      scope: "all",
      published_after: null,
      approval: false,
    };
    const formId = nextId("schedule");
    const frequencyChoices = ["daily", "weekly", "monthly"].map((value) => {
      const id = `${formId}-frequency-${value}`;
      return h(
        "div",
        { class: "choice choice-inline" },
        h("input", { type: "radio", name: "frequency", id, value, checked: values.frequency === value }),
        h("label", { for: id }, value[0].toUpperCase() + value.slice(1)),
      );
    });
    const dayOfWeek = field("Day of week", select("day_of_week", DAYS, { value: values.day_of_week || "mon" }));
    const dayOfMonth = field(
      "Day of month",
      select(
        "day_of_month",
        Array.from({ length: 28 }, (_, i) => [String(i + 1), ordinal(i + 1)]),
        { value: String(values.day_of_month || 1) },
      ),
      { help: "1 to 28, so that every month has it." },
    );
    const time = h("input", { type: "time", name: "time", required: true, step: 60, value: `${pad(values.hour)}:${pad(values.minute)}` });
    const zones = timeZones(browserTimeZone(), values.timezone);
    const zone = select("timezone", zones.map((z) => [z, z.replaceAll("_", " ")]), { value: values.timezone });
    const regionsSlot = h("div", {}, loading("Loading regions…"));
    const regionsFieldset = h(
      "fieldset",
      { class: "choices regions" },
      h("legend", {}, "Regions", singleAccount ? null : h("span", { class: "optional" }, " (optional)")),
      h(
        "p",
        { class: "help" },
        singleAccount ? "Choose at least one region to look for new APIs in." : "Leave all unchecked to cover every enabled region of every account.",
      ),
      regionsSlot,
    );
    const scopeAll = `${formId}-scope-all`;
    const scopeAfter = `${formId}-scope-after`;
    const publishedAfter = h("input", { type: "date", name: "published_after", value: values.published_after || "" });
    const publishedField = field("Created on or after", publishedAfter);
    const scope = h(
      "fieldset",
      { class: "choices" },
      h("legend", {}, "Which APIs"),
      h("div", { class: "choice choice-inline" }, h("input", { type: "radio", name: "scope", id: scopeAll, value: "all", checked: values.scope !== "published_after" }), h("label", { for: scopeAll }, "All APIs")),
      h(
        "div",
        { class: "choice choice-inline" },
        h("input", { type: "radio", name: "scope", id: scopeAfter, value: "published_after", checked: values.scope === "published_after" }),
        h("label", { for: scopeAfter }, "Only APIs created after a date"),
      ),
      publishedField,
    );
    forgetDirectory(connection);
    const scopeFields = scopeSection({ connection, values, regions: regions(), signal: context.signal });
    const result = h("div");
    const save = h("button", { type: "submit", class: "button button-primary" }, editing ? "Update Schedule" : "Save Schedule");
    const cancel = h("button", { type: "button", class: "button button-ghost" }, "Cancel");
    const form = h(
      "form",
      { class: "stack schedule-form", novalidate: true, "aria-label": `Auto-onboard schedule of ${connection.name}` },
      h("fieldset", { class: "choices" }, h("legend", {}, "Frequency"), h("div", { class: "inline-choices" }, frequencyChoices)),
      h("div", { class: "form-row" }, dayOfWeek, dayOfMonth, field("Time", time), field("Time zone", zone, { help: `Your browser's is ${browserTimeZone()}.` })),
      regionsFieldset,
      scope,
      scopeFields.element,
      result,
      h("div", { class: "actions" }, save, cancel),
    );

    function sync() {
      const frequency = form.elements.frequency.value;
      dayOfWeek.hidden = frequency !== "weekly";
      dayOfMonth.hidden = frequency !== "monthly";
      form.elements.day_of_week.disabled = frequency !== "weekly";
      form.elements.day_of_month.disabled = frequency !== "monthly";
      const after = form.elements.scope.value === "published_after";
      publishedField.hidden = !after;
      publishedAfter.disabled = !after;
      publishedAfter.required = after;
    }
    form.addEventListener("change", sync);
    sync();

    regions()
      .then((items) => {
        const chosen = new Set(values.regions || []);
        const usable = items.filter((r) => r.enabled !== false || chosen.has(r.region));
        replace(
          regionsSlot,
          h(
            "div",
            { class: "region-grid" },
            usable.map((r) => {
              const id = nextId("region");
              return h(
                "div",
                { class: "choice choice-inline" },
                h("input", { type: "checkbox", name: "regions", id, value: r.region, checked: chosen.has(r.region) }),
                h("label", { for: id, title: regionName(r.region) }, r.region),
              );
            }),
          ),
        );
      })
      .catch((error) => {
        if (!isAbort(error)) replace(regionsSlot, problemBox(error, { title: "The regions could not be listed" }));
      });

    cancel.addEventListener("click", () => (schedule ? showOn() : showOff()));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearFieldErrors(form);
      const data = new FormData(form);
      const [hour, minute] = String(data.get("time") || "").split(":").map(Number);
      const chosenRegions = data.getAll("regions").map(String);
      const missing = [];
      if (!Number.isInteger(hour) || !Number.isInteger(minute)) missing.push({ field: "time", message: "is required (hours and minutes)" });
      if (singleAccount && !chosenRegions.length) missing.push({ field: "regions", message: "choose at least one region" });
      if (data.get("scope") === "published_after" && !data.get("published_after")) missing.push({ field: "published_after", message: "is required to onboard only newer APIs" });
      if (missing.length) {
        showFieldErrors(form, missing);
        replace(result);
        return;
      }
      const body = { frequency: data.get("frequency"), hour, minute, timezone: data.get("timezone"), scope: data.get("scope") };
      if (body.frequency === "weekly") body.day_of_week = data.get("day_of_week");
      if (body.frequency === "monthly") body.day_of_month = Number(data.get("day_of_month"));
      if (chosenRegions.length) body.regions = chosenRegions;
      if (body.scope === "published_after") body.published_after = data.get("published_after");
      Object.assign(body, scopeFields.body());
      replace(result, loading("Saving the schedule…"));
      await busy(save, "Saving…", async () => {
        try {
          schedule = await api(base, { method: "PUT", body, signal: context.signal });
          showOn(notice("success", editing ? "Schedule updated" : "Auto-onboard enabled"));
          bodySlot.querySelector(".actions button").focus();
        } catch (error) {
          if (isAbort(error)) return;
          const errors = error instanceof ApiError ? error.problem.errors : null;
          if (Array.isArray(errors) && errors.length) {
            // The form asks for one time; the API names its two parts.
            showFieldErrors(form, scopeFields.placeErrors(errors.map((e) => (e.field === "hour" || e.field === "minute" ? { ...e, field: "time" } : e))));
          }
          replace(result, problemBox(error));
        }
      });
    });

    setState(Boolean(schedule));
    replace(bodySlot, form);
    form.querySelector('input[name="frequency"]:checked').focus();
  }

  if (connection.auto_onboard) {
    setState(true);
    loadSchedule();
  } else {
    showOff();
  }
  return panel;
}
