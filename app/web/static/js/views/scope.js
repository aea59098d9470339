// The scope of an auto-onboard schedule: which accounts, organizational units, regions and
// tagged APIs a run covers, and whether new APIs wait for approval. The form's Scope section,
// the summary of a saved scope, and what a run left out.

import { api, isAbort, listAll } from "../api.js";
import { badge, h, nextId, plural, problemBox, regionName, replace, loading } from "../dom.js";

const MODES = [
  ["", "No rule"],
  ["include", "Include"],
  ["exclude", "Exclude"],
];
export const APPROVAL_HELP = "New APIs wait under Review new APIs until someone approves or dismisses them, instead of being onboarded right away.";

// The organization's accounts and OUs, asked for once per connection while the page is open.
const directories = new Map();

/** {accounts: Map(id -> account), ous: [ou], ouError} of a central-role connection. */
export function organizationDirectory(connection, signal) {
  if (connection.credential_type !== "central_role") return Promise.resolve({ accounts: new Map(), ous: [], ouError: null, accountError: null });
  let found = directories.get(connection.id);
  if (!found) {
    const accounts = listAll(`/connections/${connection.id}/accounts`, { signal }).then(
      (items) => ({ items, error: null }),
      (error) => ({ items: [], error }),
    );
    const ous = api(`/connections/${connection.id}/organizational-units`, { signal }).then(
      (answer) => ({ items: answer.items, error: null }),
      (error) => ({ items: [], error }),
    );
    found = Promise.all([accounts, ous]).then(([a, o]) => {
      if ((a.error && isAbort(a.error)) || (o.error && isAbort(o.error))) directories.delete(connection.id);
      return { accounts: new Map(a.items.map((item) => [item.account_id, item])), ous: o.items, accountError: a.error, ouError: o.error };
    });
    directories.set(connection.id, found);
  }
  return found;
}

/** Forgets what was listed (the next form or summary asks AWS again). */
export function forgetDirectory(connection) {
  directories.delete(connection.id);
}

function accountText(id, accounts) {
  const account = accounts.get(id);
  return account && account.name ? `${account.name} (${id})` : id;
}

function ouText(id, ous) {
  const ou = ous.find((item) => item.id === id);
  return ou && ou.name ? `${ou.name} (${id})` : id;
}

function ruleEntries(rule) {
  const entries = [];
  for (const mode of ["include", "exclude"]) for (const value of (rule && rule[mode]) || []) entries.push([value, mode]);
  return entries;
}

function ruleBody(map) {
  const include = [...map].filter(([, mode]) => mode === "include").map(([value]) => value);
  const exclude = [...map].filter(([, mode]) => mode === "exclude").map(([value]) => value);
  if (!include.length && !exclude.length) return undefined;
  const rule = {};
  if (include.length) rule.include = include;
  if (exclude.length) rule.exclude = exclude;
  return rule;
}

function modeBadge(mode) {
  return mode === "include" ? badge("Included", "ok") : badge("Excluded", "warn");
}

function removeButton(what, onClick) {
  return h("button", { type: "button", class: "button button-ghost button-small", onClick }, "Remove", h("span", { class: "visually-hidden" }, ` ${what}`));
}

function ruleFieldset(name, legend, help, ...content) {
  return h(
    "fieldset",
    { class: `choices scope-rule scope-${name.replaceAll("_", "-")}`, name, tabindex: "-1" },
    h("legend", {}, legend, h("span", { class: "optional" }, " (optional)")),
    help ? h("p", { class: "help" }, help) : null,
    content,
  );
}

/**
 * The Scope section of the schedule form. `values` is the saved schedule (or the defaults);
 * `regions` a promise of the known regions. Returns {element, body(), placeErrors(errors)}.
 */
export function scopeSection({ connection, values, regions, signal }) {
  const central = connection.credential_type === "central_role";
  const accountRule = new Map(ruleEntries(values.accounts));
  const ouRule = new Map(ruleEntries(values.organizational_units));
  const skipped = new Set(values.exclude_regions || []);

  // ---------------------------------------------------------------- accounts (central role)
  let accountsFieldset = null;
  let ousFieldset = null;
  if (central) {
    const accountSelect = h("select", { name: "account_choice", id: nextId("account-choice") }, h("option", { value: "" }, "Loading accounts…"));
    const includeButton = h("button", { type: "button", class: "button button-small" }, "Include");
    const excludeButton = h("button", { type: "button", class: "button button-small" }, "Exclude");
    const chosenList = h("ul", { class: "rule-list", "aria-label": "Account rules" });
    const accountProblem = h("div");
    let known = new Map();
    const renderAccounts = () => {
      const entries = [...accountRule];
      replace(
        chosenList,
        entries.length
          ? entries.map(([id, mode]) =>
              h(
                "li",
                { dataset: { accountId: id, mode } },
                modeBadge(mode),
                h("span", { class: "rule-name" }, known.get(id) && known.get(id).name ? known.get(id).name : "Unknown account", " ", h("span", { class: "mono muted" }, id)),
                removeButton(accountText(id, known), () => {
                  accountRule.delete(id);
                  renderAccounts();
                  accountSelect.focus();
                }),
              ),
            )
          : h("li", { class: "muted rule-empty" }, "No account rule: every account of the organization."),
      );
    };
    const add = (mode) => {
      const id = accountSelect.value;
      if (!id) {
        accountSelect.focus();
        return;
      }
      accountRule.set(id, mode);
      renderAccounts();
    };
    includeButton.addEventListener("click", () => add("include"));
    excludeButton.addEventListener("click", () => add("exclude"));
    accountsFieldset = ruleFieldset(
      "accounts",
      "Accounts",
      "Include: only these accounts (and those under included organizational units). Exclude: never these, whatever includes them.",
      h("div", { class: "picker-row" }, h("div", { class: "field" }, h("label", { for: accountSelect.id }, "Account"), accountSelect), h("div", { class: "actions" }, includeButton, excludeButton)),
      accountProblem,
      chosenList,
    );
    renderAccounts();

    const tree = h("div", { class: "ou-tree-slot" }, loading("Loading organizational units…"));
    const unknownOus = h("ul", { class: "rule-list" });
    ousFieldset = ruleFieldset("organizational_units", "Organizational units", "An organizational unit covers every account in it, nested units too. An exclude always wins.", tree, unknownOus);

    const renderUnknownOus = (listed) => {
      const others = [...ouRule].filter(([id]) => !listed.has(id));
      replace(
        unknownOus,
        others.map(([id, mode]) =>
          h(
            "li",
            { dataset: { ouId: id, mode } },
            modeBadge(mode),
            h("span", { class: "rule-name" }, "Not in the organization's list ", h("span", { class: "mono muted" }, id)),
            removeButton(id, () => {
              ouRule.delete(id);
              renderUnknownOus(listed);
            }),
          ),
        ),
      );
    };

    organizationDirectory(connection, signal).then(({ accounts, ous, accountError, ouError }) => {
      known = accounts;
      if (accountError && !isAbort(accountError)) replace(accountProblem, problemBox(accountError, { title: "The accounts could not be listed" }));
      const options = [...accounts.values()].map((a) => [a.account_id, `${a.name || "Unnamed"} · ${a.account_id}${a.management_account ? " (management)" : ""}`]);
      replace(accountSelect, h("option", { value: "" }, options.length ? "Choose an account…" : "No account listed"), options.map(([value, text]) => h("option", { value }, text)));
      renderAccounts();

      const listed = new Set(ous.map((ou) => ou.id));
      if (ouError) {
        if (!isAbort(ouError)) replace(tree, problemBox(ouError, { title: "The organizational units could not be listed" }));
      } else if (!ous.length) {
        replace(tree, h("p", { class: "muted" }, "The organization lists no organizational unit."));
      } else {
        replace(tree, ouTree(ous, ouRule));
      }
      renderUnknownOus(listed);
    });
  }

  // ---------------------------------------------------------------- skip regions
  const regionSelect = h("select", { name: "exclude_region_choice", id: nextId("skip-region") }, h("option", { value: "" }, "Loading regions…"));
  const skipButton = h("button", { type: "button", class: "button button-small" }, "Skip region");
  const skippedList = h("ul", { class: "rule-list", "aria-label": "Skipped regions" });
  const renderSkipped = () => {
    replace(
      skippedList,
      skipped.size
        ? [...skipped].map((region) =>
            h(
              "li",
              { dataset: { region } },
              badge("Skipped", "warn"),
              h("span", { class: "rule-name" }, h("span", { class: "mono" }, region), regionName(region) ? h("span", { class: "muted" }, ` ${regionName(region)}`) : null),
              removeButton(region, () => {
                skipped.delete(region);
                renderSkipped();
                regionSelect.focus();
              }),
            ),
          )
        : h("li", { class: "muted rule-empty" }, "No region skipped."),
    );
  };
  skipButton.addEventListener("click", () => {
    if (!regionSelect.value) {
      regionSelect.focus();
      return;
    }
    skipped.add(regionSelect.value);
    regionSelect.value = "";
    renderSkipped();
  });
  const regionsFieldset = ruleFieldset(
    "exclude_regions",
    "Skip regions",
    "Never look for APIs in these regions, whatever else covers them.",
    h("div", { class: "picker-row" }, h("div", { class: "field" }, h("label", { for: regionSelect.id }, "Region to skip"), regionSelect), h("div", { class: "actions" }, skipButton)),
    skippedList,
  );
  renderSkipped();
  regions
    .then((items) => {
      replace(
        regionSelect,
        h("option", { value: "" }, "Choose a region…"),
        items.map((r) => h("option", { value: r.region }, regionName(r.region) ? `${r.region} · ${regionName(r.region)}` : r.region)),
      );
    })
    .catch((error) => {
      if (!isAbort(error)) replace(regionSelect, h("option", { value: "" }, "The regions could not be listed"));
    });

  // ---------------------------------------------------------------- tags
  const tagRows = h("div", { class: "tag-rules stack" });
  const addTag = h("button", { type: "button", class: "button button-small" }, "Add tag rule");
  const tagEmpty = h("p", { class: "muted rule-empty" }, "No tag rule: APIs are onboarded whatever their tags.");
  const rows = [];
  const syncTagEmpty = () => {
    tagEmpty.hidden = rows.length > 0;
  };
  function addTagRow(key = "", value = "*", mode = "include") {
    const n = nextId("tag").replace("tag-", "");
    const modeSelect = h(
      "select",
      { name: `tag_mode_${n}`, id: `tag-mode-${n}` },
      [
        ["include", "Must have"],
        ["exclude", "Leave out if it has"],
      ].map(([v, text]) => h("option", { value: v, selected: v === mode }, text)),
    );
    const keyInput = h("input", { type: "text", name: `tag_key_${n}`, id: `tag-key-${n}`, value: key, autocomplete: "off", spellcheck: "false", maxlength: 128 });
    const any = value === "*";
    const valueInput = h("input", { type: "text", name: `tag_value_${n}`, id: `tag-value-${n}`, value: any ? "" : value, autocomplete: "off", spellcheck: "false", disabled: any, placeholder: any ? "any value" : "" });
    const anyBox = h("input", { type: "checkbox", name: `tag_any_${n}`, id: `tag-any-${n}`, checked: any });
    anyBox.addEventListener("change", () => {
      valueInput.disabled = anyBox.checked;
      valueInput.placeholder = anyBox.checked ? "any value" : "";
      if (!anyBox.checked) valueInput.focus();
    });
    const row = h(
      "div",
      { class: "tag-rule" },
      h("div", { class: "field" }, h("label", { for: modeSelect.id }, "Rule"), modeSelect),
      h("div", { class: "field" }, h("label", { for: keyInput.id }, "Tag key"), keyInput),
      h("div", { class: "field" }, h("label", { for: valueInput.id }, "Tag value"), valueInput, h("div", { class: "choice choice-inline" }, anyBox, h("label", { for: anyBox.id }, "Any value"))),
    );
    const entry = { row, modeSelect, keyInput, valueInput, anyBox };
    row.append(
      h(
        "div",
        { class: "tag-remove" },
        removeButton("this tag rule", () => {
          rows.splice(rows.indexOf(entry), 1);
          row.remove();
          syncTagEmpty();
          addTag.focus();
        }),
      ),
    );
    rows.push(entry);
    tagRows.append(row);
    syncTagEmpty();
    return entry;
  }
  for (const mode of ["include", "exclude"]) for (const [key, value] of Object.entries((values.tags && values.tags[mode]) || {})) addTagRow(key, value, mode);
  addTag.addEventListener("click", () => addTagRow().keyInput.focus());
  const tagsFieldset = ruleFieldset(
    "tags",
    "Tags",
    "An API must carry every tag it must have, and one tag to leave out is enough to leave it out.",
    tagEmpty,
    tagRows,
    h("div", { class: "actions" }, addTag),
  );
  syncTagEmpty();

  // ---------------------------------------------------------------- approval
  const approvalId = nextId("approval");
  const approval = h("input", { type: "checkbox", name: "approval", id: approvalId, checked: Boolean(values.approval) });
  const approvalFieldset = h(
    "fieldset",
    { class: "choices scope-approval" },
    h("legend", {}, "Approval"),
    h(
      "div",
      { class: "choice" },
      approval,
      h("label", { for: approvalId }, h("span", { class: "choice-title" }, "Ask before onboarding"), h("span", { class: "choice-help" }, APPROVAL_HELP)),
    ),
  );

  const element = h(
    "section",
    { class: "scope-section stack", "aria-labelledby": `${approvalId}-heading` },
    h("div", {}, h("h4", { id: `${approvalId}-heading` }, "Scope"), h("p", { class: "help" }, "What you leave empty does not narrow the schedule.")),
    accountsFieldset,
    ousFieldset,
    regionsFieldset,
    tagsFieldset,
    approvalFieldset,
  );

  function body() {
    const scope = { approval: approval.checked };
    if (central) {
      const accounts = ruleBody(accountRule);
      if (accounts) scope.accounts = accounts;
      const ous = ruleBody(ouRule);
      if (ous) scope.organizational_units = ous;
    }
    if (skipped.size) scope.exclude_regions = [...skipped];
    const tags = { include: {}, exclude: {} };
    for (const row of rows) tags[row.modeSelect.value][row.keyInput.value.trim()] = row.anyBox.checked ? "*" : row.valueInput.value;
    const rule = {};
    if (Object.keys(tags.include).length) rule.include = tags.include;
    if (Object.keys(tags.exclude).length) rule.exclude = tags.exclude;
    if (rule.include || rule.exclude) scope.tags = rule;
    return scope;
  }

  /** The API's field names, turned into the names of the controls that show them. */
  function placeErrors(errors) {
    return errors.map((error) => {
      const field = String(error.field);
      const tag = field.match(/^tags\.(include|exclude)\.(.*?)(\.\[key\])?$/);
      if (tag) {
        const row = rows.find((r) => r.modeSelect.value === tag[1] && r.keyInput.value.trim() === tag[2]);
        if (row) return { ...error, field: tag[3] || row.valueInput.disabled ? row.keyInput.name : row.valueInput.name };
      }
      const top = field.match(/^(accounts|organizational_units|exclude_regions|tags)\b/);
      return top ? { ...error, field: top[1] } : error;
    });
  }

  return { element, body, placeErrors };
}

function ouTree(ous, rule) {
  const children = new Map();
  for (const ou of ous) {
    const parent = ou.parent_id || "";
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(ou);
  }
  const ids = new Set(ous.map((ou) => ou.id));
  // The root (no parent) and any unit whose parent is not listed start a branch.
  const tops = ous.filter((ou) => !ou.parent_id || !ids.has(ou.parent_id));
  const branch = (list) =>
    h(
      "ul",
      { class: "ou-tree" },
      list.map((ou) => {
        const id = nextId("ou");
        const choice = h(
          "select",
          { id, "aria-describedby": `${id}-meta`, dataset: { ouId: ou.id } },
          MODES.map(([value, text]) => h("option", { value, selected: (rule.get(ou.id) || "") === value }, text)),
        );
        choice.addEventListener("change", () => {
          if (choice.value) rule.set(ou.id, choice.value);
          else rule.delete(ou.id);
        });
        const nested = (children.get(ou.id) || []).sort((a, b) => (a.name || "").localeCompare(b.name || ""));
        return h(
          "li",
          { dataset: { ouId: ou.id } },
          h(
            "div",
            { class: "ou-row" },
            h("label", { for: id }, ou.name || ou.id),
            h("span", { class: "muted small ou-meta", id: `${id}-meta` }, h("span", { class: "mono" }, ou.id), ` · ${plural((ou.account_ids || []).length, "account")}`),
            choice,
          ),
          nested.length ? branch(nested) : null,
        );
      }),
    );
  return branch(tops);
}

// ------------------------------------------------------------------------------------ summary

/** The saved scope, said for a person: a list of [term, text] (only what narrows). */
export function scopeFacts(schedule, directory = { accounts: new Map(), ous: [] }) {
  const facts = [];
  const rule = (value, text) => {
    const parts = [];
    if (value && value.include && value.include.length) parts.push(`only ${value.include.map(text).join(", ")}`);
    if (value && value.exclude && value.exclude.length) parts.push(`not ${value.exclude.map(text).join(", ")}`);
    return parts.join("; ");
  };
  const accounts = rule(schedule.accounts, (id) => accountText(id, directory.accounts));
  if (accounts) facts.push(["Accounts", accounts, "accounts"]);
  const ous = rule(schedule.organizational_units, (id) => ouText(id, directory.ous));
  if (ous) facts.push(["Organizational units", ous, "organizational-units"]);
  if (schedule.exclude_regions && schedule.exclude_regions.length) facts.push(["Skip regions", schedule.exclude_regions.join(", "), "skip-regions"]);
  const tags = schedule.tags || {};
  const tagText = (entries) => Object.entries(entries || {}).map(([key, value]) => (value === "*" ? `${key} (any value)` : `${key}=${value}`));
  const tagParts = [];
  if (Object.keys(tags.include || {}).length) tagParts.push(`must have ${tagText(tags.include).join(", ")}`);
  if (Object.keys(tags.exclude || {}).length) tagParts.push(`left out if tagged ${tagText(tags.exclude).join(", ")}`);
  if (tagParts.length) facts.push(["Tags", tagParts.join("; "), "tags"]);
  facts.push(["New APIs", schedule.approval ? "Held for review: ask before onboarding" : "Onboarded right away", "approval"]);
  return facts;
}

// ------------------------------------------------------------------------------------ runs

/** The accounts a run left out (never assumed into), with why. */
export function excludedAccounts(run, { short = false } = {}) {
  const excluded = run.excluded_accounts || [];
  if (!excluded.length) return null;
  return h(
    "details",
    { class: "run-excluded" },
    h("summary", {}, short ? `${excluded.length} ${excluded.length === 1 ? "account" : "accounts"} left out` : `${plural(excluded.length, "account")} left out by the scope`),
    h(
      "ul",
      {},
      excluded.map((a) => h("li", {}, h("strong", {}, a.name ? `${a.name} ` : "", h("span", { class: "mono" }, a.account_id)), `: ${a.reason}`)),
    ),
  );
}

/** "2 new APIs held for review" with the way to them (nothing when none were held). */
export function heldForApproval(run, connectionId) {
  const held = run.held_for_approval || 0;
  if (!held) return null;
  return h(
    "p",
    { class: "run-held" },
    `${plural(held, "new API")} held for review. `,
    h("a", { href: reviewHash(connectionId) }, "Review new APIs"),
  );
}

export function reviewHash(connectionId, status) {
  return `#/integrations/${connectionId}/review${status && status !== "pending" ? `?status=${status}` : ""}`;
}
