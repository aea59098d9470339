// The applications list with its filters (kept in the address, so a filtered list can be shared).

import { api, isAbort, listAll } from "../api.js";
import { VPC_ONLY_TEXT, announce, applicationStatus, badge, cell, emptyState, field, formatDate, h, loading, notice, problemBox, reachableFrom, regionName, replace, select } from "../dom.js";

const FILTERS = ["q", "connection_id", "account_id", "region", "protocol", "onboarded_via", "status"];
const STATUSES = [
  ["", "All"],
  ["active", "Active"],
  ["retired", "Retired"],
  ["orphaned", "Orphaned"],
];
const PAGE_SIZE = 50;

export async function applicationsView(container, context) {
  context.setTitle("Applications");
  const filters = Object.fromEntries(FILTERS.map((name) => [name, context.query.get(name) || ""]));

  // Said once, after a delete on the application's page: a reload shows the list without it.
  const deleted = context.query.get("deleted");
  if (deleted !== null) {
    const rest = new URLSearchParams(context.query);
    rest.delete("deleted");
    window.history.replaceState(null, "", `#/applications${rest.toString() ? `?${rest}` : ""}`);
    announce(`Application ${deleted} deleted`);
  }

  const search = h("input", { type: "search", name: "q", value: filters.q, maxlength: 200, placeholder: "Part of the name", autocomplete: "off", spellcheck: "false" });
  const connectionSelect = select("connection_id", [["", "Any connection"]], { value: filters.connection_id });
  const accountChoices = h("datalist", { id: "account-choices" });
  const account = h("input", { type: "text", name: "account_id", value: filters.account_id, inputmode: "numeric", pattern: "\\d{12}", maxlength: 12, placeholder: "12-digit id", autocomplete: "off", list: "account-choices" });
  // The regions the tenant's applications are in; a region from the address stays a choice.
  const region = select("region", [["", "Any region"], ...(filters.region ? [[filters.region, regionLabel(filters.region)]] : [])], { value: filters.region });
  const protocol = select("protocol", [["", "Any protocol"], ["REST", "REST"], ["HTTP", "HTTP"], ["WEBSOCKET", "WebSocket"]], { value: filters.protocol });
  const via = select("onboarded_via", [["", "Any"], ["manual", "Manual"], ["auto_onboard", "Auto-onboard"]], { value: filters.onboarded_via });
  const status = select("status", STATUSES, { value: filters.status });
  const active = FILTERS.some((name) => filters[name]);

  const form = h(
    "form",
    { class: "filters card", role: "search", "aria-label": "Filter applications", novalidate: true },
    field("Name", search),
    field("Connection", connectionSelect),
    field("Account", account),
    accountChoices,
    field("Region", region),
    field("Protocol", protocol),
    field("Onboarded via", via),
    field("Status", status),
    h(
      "div",
      { class: "actions filters-actions" },
      h("button", { type: "submit", class: "button" }, "Apply filters"),
      active ? h("a", { class: "button button-ghost", href: "#/applications" }, "Clear") : null,
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const name of FILTERS) {
      const value = form.elements[name].value.trim();
      if (value) query.set(name, value);
    }
    const search = query.toString();
    context.navigate(`#/applications${search ? `?${search}` : ""}`);
  });

  const results = h("div", { class: "stack" }, loading("Loading applications…"));
  replace(
    container,
    h(
      "div",
      { class: "page-head" },
      h("div", {}, h("h1", {}, "Applications"), h("p", { class: "muted" }, "APIs onboarded for security testing.")),
      h("a", { class: "button button-primary", href: "#/applications/new" }, "Add application"),
    ),
    deleted !== null ? notice("success", "Application deleted", h("p", {}, `${deleted} is no longer onboarded.`)) : null,
    form,
    results,
  );

  const names = new Map();
  function showAccountNames() {
    for (const slot of results.querySelectorAll("[data-account-name]")) {
      const name = names.get(slot.dataset.accountName);
      if (name) replace(slot, name);
    }
  }

  listAll("/connections", { signal: context.signal })
    .then((connections) => {
      for (const connection of connections) {
        connectionSelect.append(h("option", { value: connection.id, selected: connection.id === filters.connection_id }, connection.name));
      }
      return accountNames(connections, context.signal);
    })
    .then((found) => {
      for (const [id, name] of found) names.set(id, name);
      replace(accountChoices, [...found].map(([id, name]) => h("option", { value: id }, name)));
      showAccountNames();
    })
    .catch(() => {});

  api("/applications/regions", { signal: context.signal })
    .then((answer) => {
      // What the person chose meanwhile (or the address's region) stays chosen.
      const current = region.value;
      for (const { region: code, applications: count } of answer.items) {
        const chosen = [...region.options].find((option) => option.value === code);
        if (chosen) {
          chosen.textContent = `${regionLabel(code)} (${count})`;
          continue;
        }
        region.append(h("option", { value: code }, `${regionLabel(code)} (${count})`));
      }
      const options = [...region.options].slice(1).sort((a, b) => a.value.localeCompare(b.value));
      region.append(...options);
      region.value = current;
    })
    .catch(() => {});

  const query = Object.fromEntries(Object.entries(filters).filter(([, value]) => value));
  const rows = h("tbody");
  const more = h("div", { class: "actions" });
  let shown = 0;

  async function loadPage(cursor) {
    const page = await api("/applications", { query: { ...query, limit: PAGE_SIZE, cursor }, signal: context.signal });
    for (const application of page.items) rows.append(row(application, names));
    shown += page.items.length;
    replace(more);
    if (page.next_cursor) {
      const button = h("button", { type: "button", class: "button" }, "Load more");
      button.addEventListener("click", async () => {
        replace(more, loading("Loading more…"));
        try {
          await loadPage(page.next_cursor);
        } catch (error) {
          if (!isAbort(error)) replace(more, problemBox(error));
        }
      });
      more.append(button);
    }
    return page;
  }

  try {
    const first = await loadPage(null);
    if (!first.items.length) {
      replace(
        results,
        active
          ? emptyState("No application matches these filters", "Change or clear the filters.", h("a", { class: "button", href: "#/applications" }, "Clear filters"))
          : emptyState("No applications yet", "Onboard an API from Amazon API Gateway to start testing it.", h("a", { class: "button button-primary", href: "#/applications/new" }, "Add application")),
      );
      return;
    }
    replace(
      results,
      h(
        "table",
        { class: "table", "aria-label": "Applications" },
        h("thead", {}, h("tr", {}, ["Name", "Protocol", "Account / region", "Instances", "Operations", "Unauthenticated", "Onboarded"].map((text) => h("th", { scope: "col", class: text.includes(" ") ? undefined : "nowrap" }, text)))),
        rows,
      ),
      more,
    );
  } catch (error) {
    if (isAbort(error)) return;
    replace(results, problemBox(error));
  }
  return shown;
}

function regionLabel(code) {
  const name = regionName(code);
  return name ? `${code} — ${name}` : code;
}

// Account names by id, read once per page load: one GET /connections/{id}/accounts for each
// central-role connection (a single-account connection's account has no name to add).
let accountNamesOnce = null;

function accountNames(connections, signal) {
  accountNamesOnce ??= Promise.all(
    connections
      .filter((connection) => connection.credential_type === "central_role")
      .map((connection) =>
        listAll(`/connections/${connection.id}/accounts`, { signal }).catch((error) => {
          if (isAbort(error)) throw error;
          return []; // names are a help: a connection that fails to list its accounts adds none
        }),
      ),
  ).then((lists) => new Map(lists.flat().filter((a) => a.name).map((a) => [a.account_id, a.name])));
  accountNamesOnce.catch(() => {
    accountNamesOnce = null;
  });
  return accountNamesOnce;
}

function row(application, names) {
  const source = application.source;
  const definition = application.definition;
  // Every instance answers only inside the customer's VPC: a scanner outside it reaches none.
  const retired = application.instances.filter((instance) => instance.status === "retired").length;
  const vpcOnly = application.instances.length > 0 && application.instances.every((instance) => reachableFrom(instance, source.endpoint_type) === "vpc_only");
  return h(
    "tr",
    { dataset: { applicationId: application.id, status: application.status || "" }, class: application.status && application.status !== "active" ? "row-inactive" : undefined },
    cell(
      "Name",
      h("a", { href: `#/applications/${application.id}`, class: "strong" }, application.name),
      h("div", { class: "muted mono small" }, source.api_id),
      application.status ? h("div", { class: "row-status" }, applicationStatus(application)) : null,
    ),
    cell("Protocol", badge(source.protocol, "info"), " ", badge(source.endpoint_type, source.endpoint_type === "PRIVATE" ? "private" : "neutral")),
    cell(
      "Account / region",
      h("span", { class: "mono" }, source.account_id),
      h("div", { class: "small account-name", dataset: { accountName: source.account_id } }, names.get(source.account_id) || null),
      h("div", { class: "muted small" }, source.region),
    ),
    cell(
      "Instances",
      String(application.instances.length - retired),
      vpcOnly ? [" ", badge("VPC only", "private", VPC_ONLY_TEXT)] : null,
      retired ? h("div", { class: "muted small" }, `${retired} retired`) : null,
    ),
    cell("Operations", definition ? String(definition.operations) : "—"),
    cell("Unauthenticated", definition && definition.unauthenticated_operations ? badge(String(definition.unauthenticated_operations), "error") : definition ? "0" : "—"),
    cell("Onboarded", formatDate(application.created_at), h("div", { class: "muted small" }, application.onboarded_via === "auto_onboard" ? "auto-onboard" : "manual")),
  );
}
