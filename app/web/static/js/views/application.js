// One application: where it comes from, its instances, its attack surface, what each stage
// really serves (its deployed definition), the stages' protections and the operations.

import { api, blob, isAbort, listAll } from "../api.js";
import {
  VPC_ONLY_TEXT,
  announce,
  applicationStatus,
  badge,
  busy,
  cell,
  confirmDialog,
  emptyState,
  field,
  formatDate,
  formatDateTime,
  formatRelative,
  h,
  loading,
  nextId,
  notice,
  plural,
  problemBox,
  reachableFrom as reachable,
  replace,
  select,
  timeElement,
} from "../dom.js";

const AUTHORIZER_LABELS = {
  AWS_IAM: "IAM (SigV4)",
  TOKEN: "Lambda token",
  REQUEST: "Lambda request",
  COGNITO_USER_POOLS: "Cognito user pools",
  JWT: "JWT",
};

/** Where a stage's operations were read, said for a person. */
const OPERATIONS_SOURCES = {
  deployment: ["Read from the deployment", "What the stage serves right now."],
  stage_export: ["From the stage's export", "AWS's export of the deployed stage."],
  draft_resources: ["From the API's undeployed draft (fallback)", "AWS did not say what the deployment contains, so the API's current resources were read. They can differ from what the stage serves."],
  draft_routes: ["From the API's current routes (fallback)", "The stage could not be exported, so the API's current routes were read. They can include changes not deployed yet."],
};

/** How one operation can be called, said for a person: [label, badge kind, explanation]. */
const EXPOSURES = {
  public: ["Public", "error", "Anyone can call it: no authorization and no API key."],
  api_key_only: ["API key only — not authentication", "warn", "Needs an API key, but a key identifies a client for throttling and quotas; it does not authenticate the caller."],
  authenticated: ["Authenticated", "ok", "Needs an authorizer, IAM or a JWT."],
  cors_preflight: ["CORS preflight", "neutral", "The OPTIONS request browsers send before a cross-origin call; counted apart."],
};

const RESOURCE_POLICIES = {
  none: ["No resource policy", "neutral", "Any caller the API's own authorization lets through."],
  restricts_callers: ["Restricts callers", "ok", "The resource policy limits who may call the API."],
  allows_anyone: ["Allows anyone", "warn", "The resource policy lets any principal call the API."],
};

const NO_DEFINITION = { stage: null, operations: 0, unauthenticated_operations: 0, api_key_operations: 0, authorizer_types: {} };

function metric(label, value, kind, description) {
  return h(
    "div",
    { class: `metric metric-${kind}`, dataset: { metric: label.toLowerCase().replace(/[^a-z]+/g, "_") } },
    h("p", { class: "metric-value" }, String(value)),
    h("p", { class: "metric-label" }, label),
    description ? h("p", { class: "metric-help" }, description) : null,
  );
}

function safeFileName(name) {
  return (name || "definition").replace(/[^\w.-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 80) || "definition";
}

function formatName(format) {
  return format === "swagger_2" ? "Swagger 2.0" : format === "openapi_3" ? "OpenAPI 3" : format || "—";
}

/** The operation's exposure (the API says it; older answers are read from their flags). */
function exposureOf(op) {
  if (op.exposure) return op.exposure;
  if (!op.unauthenticated) return "authenticated";
  return op.api_key_required ? "api_key_only" : "public";
}

function exposureBadge(exposure) {
  if (!exposure) return null;
  const [label, kind, help] = EXPOSURES[exposure] || [exposure, "neutral", ""];
  return badge(label, kind, help || undefined);
}

/** Where the operations were read: "deployment", …; older answers said aws_export/built there. */
function operationsSource(definition) {
  return OPERATIONS_SOURCES[definition.source] ? definition.source : null;
}

function documentSource(definition) {
  const source = definition.document_source || (["aws_export", "built"].includes(definition.source) ? definition.source : null);
  if (source === "aws_export") return `AWS export of stage ${definition.stage}`;
  if (source === "built") return "Built by Onboarder from the API's routes";
  return source || "—";
}

function reachableFrom(instance, source) {
  return reachable(instance, source.endpoint_type);
}

export async function applicationView(container, context) {
  const [id] = context.params;
  context.setTitle("Application");
  const heading = h("h1", {}, "Application");
  const headMeta = h("p", { class: "muted head-meta" });
  const headActions = h("div", { class: "actions" });
  // Progress and the outcome of a sync: kept across the page's re-render.
  const syncOutput = h("div", { class: "sync-output", "aria-live": "polite" });
  const content = h("div", { class: "stack" }, loading("Loading the application…"));
  replace(
    container,
    h("p", { class: "crumbs" }, h("a", { href: "#/applications" }, "Applications"), " / "),
    h("div", { class: "page-head" }, h("div", {}, heading, headMeta), headActions),
    syncOutput,
    content,
  );

  // "Synced 5 minutes ago" stays true while the page is open.
  const ticker = window.setInterval(() => refreshRelativeTimes(container), 30_000);
  context.signal.addEventListener("abort", () => window.clearInterval(ticker), { once: true });

  const application = await api(`/applications/${id}`, { signal: context.signal });
  const justOnboarded = Boolean(context.query.get("onboarded"));
  if (justOnboarded) {
    // Said once: a reload or a shared link shows the page without it.
    window.history.replaceState(null, "", `#/applications/${id}`);
  }
  const addInstances = context.query.get("add") === "instances";
  if (addInstances) window.history.replaceState(null, "", `#/applications/${id}`);
  const page = { id, context, heading, headMeta, headActions, syncOutput, content };
  await renderApplication(application, page, { justOnboarded, addInstances });
}

function refreshRelativeTimes(root) {
  for (const element of root.querySelectorAll("time[data-relative]")) {
    element.textContent = `${element.dataset.relative}${formatRelative(element.dateTime)}`;
  }
}

/** The head: name, status and last sync, and the "Sync now" button that re-renders the page. */
function renderHead(application, page) {
  const { id, context, heading, headMeta, headActions, syncOutput } = page;
  context.setTitle(application.name);
  replace(heading, application.name);
  replace(
    headMeta,
    applicationStatus(application),
    application.status ? " · " : null,
    application.last_synced_at
      ? h("time", { datetime: application.last_synced_at, title: formatDateTime(application.last_synced_at), dataset: { relative: "Synced " }, class: "last-synced" }, `Synced ${formatRelative(application.last_synced_at)}`)
      : h("span", { class: "last-synced" }, "Never synced"),
  );
  const syncButton = h("button", { type: "button", class: "button", "aria-describedby": "sync-help" }, "Sync Now");
  const deleteButton = h("button", { type: "button", class: "button button-danger-ghost", dataset: { action: "delete-application" } }, "Delete Application");
  replace(
    headActions,
    syncButton,
    deleteButton,
    h("p", { id: "sync-help", class: "visually-hidden" }, "Reads the API again in AWS: its stages, deployments and definitions."),
  );
  deleteButton.addEventListener("click", () => deleteApplication(application, page, deleteButton));
  syncButton.addEventListener("click", () =>
    busy(syncButton, "Syncing with AWS…", async () => {
      replace(syncOutput, loading("Syncing with AWS… reading the API's stages, deployments and definitions takes a few seconds."));
      try {
        const synced = await api(`/applications/${id}/sync`, { method: "POST", signal: context.signal });
        await renderApplication(synced, page, { synced: true });
      } catch (error) {
        if (isAbort(error)) return;
        replace(syncOutput, problemBox(error, { title: "The application could not be synced" }));
        announce("The application could not be synced");
      }
    }),
  );
  return syncButton;
}

/** What the status means for a retired or orphaned application, and since when. */
function lifecycleNotice(application) {
  if (application.status === "retired") {
    return notice(
      "info",
      `Retired ${formatDateTime(application.retired_at)}`,
      h("p", {}, "The API is gone from AWS: there is nothing left to test. Its history stays below; if the API comes back, a sync restores it."),
    );
  }
  if (application.status === "orphaned") {
    return notice(
      "warn",
      `Orphaned ${formatDateTime(application.orphaned_at)}`,
      h(
        "p",
        {},
        `No connection of this tenant reaches account ${application.source.account_id} any more, so Onboarder cannot see what the API serves now. `,
        "Give a connection access to the account again (",
        h("a", { href: "#/integrations" }, "Integrations"),
        "), then sync.",
      ),
    );
  }
  return null;
}

async function renderApplication(application, page, { justOnboarded = false, synced = false, addInstances = false, added = null } = {}) {
  const { id, context, content, syncOutput } = page;
  const syncButton = renderHead(application, page);
  const source = application.source;
  const recorded = application.definitions && application.definitions.length ? application.definitions : application.definition ? [application.definition] : [];
  // Without any definition (nothing left to read), the surface says zero rather than failing.
  const definition = application.definition || recorded[0] || NO_DEFINITION;
  const definitions = recorded;
  const protections = application.protections || [];

  const connectionName = h("span", { class: "mono" }, source.connection_id || "deleted");
  if (source.connection_id) {
    api(`/connections/${source.connection_id}`, { signal: context.signal })
      .then((connection) => {
        connectionName.classList.remove("mono");
        replace(connectionName, connection.name);
      })
      .catch(() => {});
  }

  // ----------------------------------------------------------------- attack surface (first stage)

  const authorizers = Object.entries(definition.authorizer_types || {});
  const surface = h(
    "section",
    { class: "card stack", "aria-labelledby": "surface-heading" },
    h("h2", { id: "surface-heading" }, "Attack surface"),
    definition.stage
      ? h("p", { class: "muted" }, definitions.length > 1 ? `Stage ${definition.stage}, the first instance's stage. Every stage is under “Definitions by stage”.` : `Stage ${definition.stage}.`)
      : null,
    h(
      "div",
      { class: "metrics" },
      metric("Operations", definition.operations, "neutral", "Methods and routes the stage serves."),
      metric("Unauthenticated", definition.unauthenticated_operations, definition.unauthenticated_operations ? "error" : "ok", "Public, or behind an API key only."),
      metric("API key", definition.api_key_operations, "info", "Need an API key."),
    ),
    h(
      "div",
      {},
      h("h3", {}, "Authorizers"),
      authorizers.length
        ? h(
            "ul",
            { class: "tag-list", "aria-label": "Operations per authorizer type" },
            authorizers.map(([type, count]) => h("li", { dataset: { authorizer: type } }, badge(`${AUTHORIZER_LABELS[type] || type}: ${count}`, "neutral"))),
          )
        : h("p", { class: "muted" }, "No operation uses an authorizer."),
    ),
  );

  // ----------------------------------------------------------------- instances

  const retiredInstances = application.instances.filter((instance) => instance.status === "retired").length;
  const adding = addInstancesPanel(application, page);
  const instances = h(
    "section",
    { class: "card stack", id: "instances", "aria-labelledby": "instances-heading" },
    h(
      "div",
      { class: "card-head" },
      h(
        "h2",
        { id: "instances-heading" },
        retiredInstances
          ? `Instances (${application.instances.length - retiredInstances} active · ${retiredInstances} retired)`
          : `Instances (${application.instances.length})`,
      ),
      adding.button,
    ),
    added && added.length
      ? notice("success", `${added.length === 1 ? "Instance" : "Instances"} added`, h("ul", { class: "added-instances" }, added.map((url) => h("li", { class: "mono url" }, url))))
      : null,
    adding.panel,
    h(
      "ul",
      { class: "instance-list" },
      application.instances.map((instance) =>
        h(
          "li",
          {
            class: instance.status === "retired" ? "instance-retired" : undefined,
            dataset: { reachableFrom: reachableFrom(instance, source), status: instance.status || "" },
          },
          // Its stage or custom-domain mapping is gone: the URL answers no more.
          instance.status === "retired"
            ? [h("del", { class: "mono url" }, instance.url), " ", badge(`retired ${formatDate(instance.retired_at)}`, "neutral", instance.retired_at ? `Gone from AWS since ${formatDateTime(instance.retired_at)}` : undefined)]
            : h("span", { class: "mono url" }, instance.url),
          " ",
          instance.stage ? badge(`stage ${instance.stage}`, "neutral") : null,
          /-vpce-/.test(instance.url) ? [" ", badge("VPC endpoint", "private")] : null,
          reachableFrom(instance, source) === "vpc_only" ? [" ", badge("VPC only", "private", VPC_ONLY_TEXT)] : null,
          instance.mutual_tls ? [" ", badge("Mutual TLS", "info", "Callers must present a client certificate.")] : null,
          // A routing rule sends this URL to the stage only when these headers are sent.
          instance.required_headers && Object.keys(instance.required_headers).length
            ? [
                " ",
                badge(
                  `send ${Object.entries(instance.required_headers).map(([k, v]) => `${k}: ${v}`).join(", ")}`,
                  "info",
                  "The custom domain's routing rule reaches this stage only with these headers; without them the request goes elsewhere.",
                ),
              ]
            : null,
        ),
      ),
    ),
    application.instances.some((instance) => reachableFrom(instance, source) === "vpc_only")
      ? h("p", { class: "muted small" }, "VPC only: reachable only from inside the customer's VPC, so a scanner outside that VPC cannot reach it.")
      : null,
  );

  // ----------------------------------------------------------------- protections per stage

  const protectionsCard = h(
    "section",
    { class: "card stack", "aria-labelledby": "protections-heading" },
    h("h2", { id: "protections-heading" }, "Protections"),
    protections.length
      ? h(
          "table",
          { class: "table table-compact", "aria-label": "Protections by stage" },
          h("thead", {}, h("tr", {}, ["Stage", "Resource policy", "WAF web ACL", "Mutual TLS", "Reachable from"].map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            protections.map((p) => {
              const [policyLabel, policyKind, policyHelp] = RESOURCE_POLICIES[p.resource_policy] || [p.resource_policy, "neutral", ""];
              return h(
                "tr",
                { dataset: { stage: p.stage } },
                cell("Stage", h("span", { class: "mono" }, p.stage)),
                cell("Resource policy", badge(policyLabel, policyKind, policyHelp || undefined)),
                cell("WAF web ACL", p.waf_web_acl ? "Yes" : "No"),
                cell("Mutual TLS", p.mutual_tls ? "Yes" : "No"),
                cell(
                  "Reachable from",
                  p.reachable_from === "vpc_only"
                    ? [badge("VPC only", "private"), h("div", { class: "muted small" }, "A scanner outside the customer's VPC cannot reach it.")]
                    : p.reachable_from === "internet"
                      ? "Internet"
                      : p.reachable_from,
                ),
              );
            }),
          ),
        )
      : h("p", { class: "muted" }, "Not recorded: this application was onboarded before Onboarder read the stages' protections."),
  );

  // ----------------------------------------------------------------- definitions by stage

  const definitionsCard = h(
    "section",
    { class: "card stack", "aria-labelledby": "definitions-heading" },
    h("h2", { id: "definitions-heading" }, definitions.length > 1 ? `Definitions by stage (${definitions.length})` : "Definition"),
    definitions.length > 1 ? h("p", { class: "muted" }, "Each stage can serve a different deployment: what each one serves is read on its own.") : null,
    definitions.length ? null : h("p", { class: "muted" }, "No definition recorded."),
    definitions.map((d) => stageDefinition(d, { application, id, signal: context.signal, protocol: source.protocol })),
  );

  // ----------------------------------------------------------------- source

  const details = h(
    "section",
    { class: "card stack", "aria-labelledby": "source-heading" },
    h("h2", { id: "source-heading" }, "Source"),
    h(
      "dl",
      { class: "facts" },
      fact("Connection", source.connection_id ? h("a", { href: "#/integrations" }, connectionName) : "deleted"),
      fact("Account", h("span", { class: "mono" }, source.account_id)),
      fact("Region", source.region),
      fact("API id", h("span", { class: "mono" }, source.api_id)),
      fact("Protocol", badge(source.protocol, "info")),
      fact("Endpoint type", badge(source.endpoint_type, source.endpoint_type === "PRIVATE" ? "private" : "neutral")),
      fact("Onboarded", `${formatDateTime(application.created_at)} · ${application.onboarded_via === "auto_onboard" ? "by auto-onboard" : "manually"}`),
    ),
  );

  // ----------------------------------------------------------------- operations, per stage

  const operations = h("section", { class: "card stack", "aria-labelledby": "operations-heading" });
  const operationsHeading = h("h2", { id: "operations-heading" }, "Operations");
  const choices = [];
  for (const d of definitions) {
    if (!d.stage) continue;
    choices.push({ stage: d.stage, canary: false, label: `Stage ${d.stage}` });
    if (d.canary && d.canary.source !== "unavailable") choices.push({ stage: d.stage, canary: true, label: `Stage ${d.stage} — canary (${percent(d.canary.percent_traffic)} of traffic)` });
  }
  const first = Math.max(0, choices.findIndex((c) => c.stage === definition.stage && !c.canary));
  const stageChooser = choices.length ? select("stage", choices.map((c, i) => [String(i), c.label]), { value: String(first) }) : null;
  const operationsBody = h("div", { class: "stack" }, loading("Loading operations…"));
  replace(
    operations,
    operationsHeading,
    stageChooser ? h("div", { class: "toolbar stage-chooser" }, field("Stage", stageChooser, { help: "Operations the chosen stage serves." })) : null,
    operationsBody,
  );

  const changes = changesSection(id, context.signal);
  replace(
    content,
    justOnboarded ? notice("success", "Application onboarded", h("p", {}, `${application.name} is ready for security testing with ${plural(application.instances.length, "instance")}.`)) : null,
    lifecycleNotice(application),
    h("div", { class: "grid-2" }, surface, details),
    instances,
    changes.section,
    protectionsCard,
    definitionsCard,
    operations,
  );

  let shownFor = 0;
  async function loadOperations() {
    const ticket = ++shownFor;
    const { stage, canary } = stageChooser ? choices[Number(stageChooser.value)] : { stage: null, canary: false };
    replace(operationsBody, loading("Loading operations…"));
    try {
      const items = await listAll(`/applications/${id}/operations`, { query: { stage: stage || undefined, canary: canary ? "true" : undefined }, signal: context.signal });
      if (ticket !== shownFor) return;
      replace(operationsHeading, `Operations (${items.length})`);
      replace(operationsBody, items.length ? operationsTable(items) : h("p", { class: "muted" }, "The definition lists no operation."));
    } catch (error) {
      if (isAbort(error) || ticket !== shownFor) return;
      replace(operationsHeading, "Operations");
      replace(operationsBody, problemBox(error));
    }
  }
  if (stageChooser) stageChooser.addEventListener("change", loadOperations);
  if (synced) {
    const outcome = {
      retired: "The API is no longer in AWS: the application is retired.",
      orphaned: "No connection of this tenant reaches the API's account: the application is orphaned.",
    }[application.status];
    replace(
      syncOutput,
      notice("success", "Synced with AWS", h("p", {}, outcome || "The page shows what the API serves now; anything that changed is listed under Changes.")),
    );
    announce("Synced with AWS");
    syncButton.focus();
  }
  if (addInstances) adding.open();
  await Promise.all([loadOperations(), changes.load()]);
}

/** The application's delete, after a confirmation that says what it means. */
async function deleteApplication(application, page, button) {
  const { id, context, syncOutput } = page;
  const confirmed = await confirmDialog({
    title: `Delete ${application.name}?`,
    text: [
      "Onboarder forgets this application: its instances, definitions and change history go, and the testing platform stops receiving it (GET /applications no longer lists it). Nothing changes in AWS. ",
      "If an auto-onboard schedule's scope still covers this API, its next run may onboard it again (or list it under Review new APIs when the schedule asks before onboarding).",
    ],
    confirmLabel: "Delete Application",
  });
  if (!confirmed) return;
  await busy(button, "Deleting…", async () => {
    try {
      await api(`/applications/${id}`, { method: "DELETE", signal: context.signal });
      context.navigate(`#/applications?deleted=${encodeURIComponent(application.name)}`);
    } catch (error) {
      if (isAbort(error)) return;
      replace(syncOutput, problemBox(error, { title: "The application could not be deleted" }));
      announce("The application could not be deleted");
    }
  });
}

/** "Add Instances": the API's stage and custom-domain URLs that are not instances yet, read
 * from discovery (the application's connection, account and region), added in one request. */
function addInstancesPanel(application, page) {
  const { id, context } = page;
  const source = application.source;
  const panelId = nextId("add-instances");
  const button = h("button", { type: "button", class: "button", "aria-expanded": "false", "aria-controls": panelId, dataset: { action: "add-instances" } }, "Add Instances");
  const body = h("div", { class: "stack" });
  const panel = h(
    "div",
    { class: "panel stack add-instances", id: panelId, hidden: true, role: "region", "aria-labelledby": `${panelId}-heading` },
    h("h3", { id: `${panelId}-heading`, tabindex: "-1" }, "Add Instances"),
    h("p", { class: "muted" }, "URLs of this API that are not instances yet: its stages' endpoints and custom domains, as AWS lists them now."),
    body,
  );
  const current = new Set(application.instances.filter((i) => i.status !== "retired").map((i) => i.url));

  function close() {
    panel.hidden = true;
    button.setAttribute("aria-expanded", "false");
    replace(body);
    button.focus();
  }

  async function load() {
    replace(body, loading("Listing the API's stages and URLs in AWS…"));
    if (!source.connection_id) {
      replace(body, notice("warn", "No connection reaches this API", h("p", {}, "Its connection was deleted. Onboard the API again through a connection (", h("a", { href: "#/integrations" }, "Integrations"), ").")));
      return;
    }
    try {
      const list = (refresh) =>
        api(`/connections/${source.connection_id}/apis`, {
          query: { region: source.region, account_id: source.account_id, limit: 500, refresh: refresh ? "true" : undefined },
          signal: context.signal,
        });
      let found = (await list(false)).items.find((item) => item.api_id === source.api_id);
      // A listing cached before the API was made does not have it: ask AWS once more.
      if (!found) found = (await list(true)).items.find((item) => item.api_id === source.api_id);
      if (!found) {
        replace(body, notice("warn", "The API is not listed in AWS", h("p", {}, `API ${source.api_id} is not in account ${source.account_id}, region ${source.region} any more (or the connection cannot see it). Sync the application to see what changed.`)));
        return;
      }
      renderChoices(found);
    } catch (error) {
      if (isAbort(error)) return;
      replace(body, problemBox(error, { title: "The API's URLs could not be listed" }), h("div", { class: "actions" }, h("button", { type: "button", class: "button", onClick: load }, "Try Again")));
    }
  }

  function renderChoices(found) {
    const groups = [];
    for (const stage of found.stages) {
      const urls = stage.instance_urls.filter((url) => !current.has(url));
      if (urls.length) groups.push([`Stage ${stage.name}`, urls.map((url) => ({ url, note: /-vpce-/.test(url) ? "Through a VPC endpoint" : "Default endpoint" }))]);
    }
    const domains = (found.custom_domains && found.custom_domains.length ? found.custom_domains : found.custom_domain_urls.map((url) => ({ url, stage: null })))
      .filter((d) => !current.has(d.url))
      .map((d) => ({ url: d.url, note: d.stage ? `Custom domain → stage ${d.stage}` : "Custom domain" }));
    if (domains.length) groups.push(["Custom domains", domains]);
    if (!groups.length) {
      replace(body, emptyState("Nothing to add", "Every URL of this API is an instance already.", h("button", { type: "button", class: "button", onClick: close }, "Close")));
      return;
    }
    const result = h("div");
    const submit = h("button", { type: "submit", class: "button button-primary" }, "Add Instances");
    const form = h(
      "form",
      { class: "stack", novalidate: true, "aria-label": "Instance URLs to add" },
      groups.map(([legend, urls]) =>
        h(
          "fieldset",
          { class: "choices instance-group" },
          h("legend", {}, legend),
          urls.map(({ url, note }) => {
            const inputId = nextId("new-instance");
            return h(
              "div",
              { class: "choice" },
              h("input", { type: "checkbox", name: "instance_urls", id: inputId, value: url }),
              h("label", { for: inputId }, h("span", { class: "choice-title mono url" }, url), h("span", { class: "choice-help" }, note)),
            );
          }),
        ),
      ),
      result,
      h("div", { class: "actions" }, submit, h("button", { type: "button", class: "button button-ghost", onClick: close }, "Cancel")),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const urls = [...form.querySelectorAll('input[name="instance_urls"]:checked')].map((input) => input.value);
      if (!urls.length) {
        replace(result, notice("error", "Choose at least one URL to add."));
        form.querySelector('input[name="instance_urls"]')?.focus();
        return;
      }
      replace(result, loading("Adding: reading the stages' definitions from AWS…"));
      await busy(submit, "Adding…", async () => {
        try {
          const updated = await api(`/applications/${id}/instances`, { method: "POST", body: { instance_urls: urls }, signal: context.signal });
          announce(`${plural(urls.length, "instance")} added`);
          await renderApplication(updated, page, { added: urls });
        } catch (error) {
          if (isAbort(error)) return;
          replace(result, problemBox(error, { title: "The instances could not be added" }));
        }
      });
    });
    replace(body, form);
  }

  function open() {
    panel.hidden = false;
    button.setAttribute("aria-expanded", "true");
    panel.scrollIntoView({ block: "start" });
    panel.querySelector("h3").focus({ preventScroll: true });
    return load();
  }

  button.addEventListener("click", () => (panel.hidden ? open() : close()));
  return { button, panel, open };
}

function percent(value) {
  const number = Number(value);
  return Number.isFinite(number) ? `${Number(number.toFixed(2))}%` : "—";
}

function operationsTable(items) {
  return h(
    "table",
    { class: "table", "aria-label": "Operations" },
    h("thead", {}, h("tr", {}, ["Method", "Path", "Exposure", "Authorization", "API key"].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      items.map((op) => {
        const exposure = exposureOf(op);
        const open = exposure !== "authenticated";
        const type = op.authorizer_type ? AUTHORIZER_LABELS[op.authorizer_type] || op.authorizer_type : op.authorization;
        return h(
          "tr",
          { dataset: { exposure } },
          cell("Method", h("span", { class: "method" }, op.method)),
          cell("Path", h("span", { class: "mono" }, op.path)),
          cell("Exposure", exposureBadge(exposure)),
          cell("Authorization", open && (!op.authorization || op.authorization === "NONE") ? h("span", { class: "muted" }, "None") : op.authorizer_name ? `${type} · ${op.authorizer_name}` : type),
          cell("API key", op.api_key_required ? "Required" : "—"),
        );
      }),
    ),
  );
}

/** One stage's definition: what it serves, where that was read, whether the document is valid. */
function stageDefinition(d, { application, id, signal, protocol }) {
  const headingId = nextId("stage-definition");
  const status = h("div", { "aria-live": "polite" });
  const preview = h("div");
  const downloadButton = h("button", { type: "button", class: "button button-primary", "aria-describedby": headingId }, "Download definition (JSON)");
  const viewButton = h("button", { type: "button", class: "button", "aria-expanded": "false", "aria-describedby": headingId }, "View definition");
  let documentText = null;

  async function fetchDefinition() {
    if (documentText === null) {
      const data = await blob(`/applications/${id}/openapi`, { query: { stage: d.stage || undefined }, signal, accept: "application/json" });
      documentText = await data.text();
    }
    return documentText;
  }

  downloadButton.addEventListener("click", () =>
    busy(downloadButton, "Preparing…", async () => {
      try {
        const text = await fetchDefinition();
        const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
        const stagePart = d.stage ? `-${d.stage}` : "";
        const link = h("a", { href: url, download: `${safeFileName(`${application.name}${stagePart}`)}-openapi.json`, hidden: true });
        document.body.append(link);
        link.click();
        link.remove();
        window.setTimeout(() => URL.revokeObjectURL(url), 10000);
        replace(status);
      } catch (error) {
        if (!isAbort(error)) replace(status, problemBox(error, { title: "The definition could not be downloaded" }));
      }
    }),
  );

  viewButton.addEventListener("click", () => {
    if (viewButton.getAttribute("aria-expanded") === "true") {
      viewButton.setAttribute("aria-expanded", "false");
      replace(viewButton, "View definition");
      replace(preview);
      return;
    }
    return busy(viewButton, "Loading…", async () => {
      try {
        const text = await fetchDefinition();
        let pretty = text;
        try {
          pretty = JSON.stringify(JSON.parse(text), null, 2);
        } catch {
          // Shown as sent.
        }
        replace(preview, h("pre", { class: "code-block", tabindex: "0", "aria-label": `Definition of stage ${d.stage}` }, pretty));
        replace(status);
        viewButton.setAttribute("aria-expanded", "true");
      } catch (error) {
        if (!isAbort(error)) replace(status, problemBox(error, { title: "The definition could not be loaded" }));
      }
    }).then(() => {
      if (viewButton.getAttribute("aria-expanded") === "true") replace(viewButton, "Hide definition");
    });
  });

  const invalid = d.valid === false;
  const opsSource = operationsSource(d);
  const [sourceLabel, sourceHelp] = opsSource
    ? opsSource === "draft_routes" && protocol === "WEBSOCKET"
      ? ["From the API's routes", "WebSocket APIs have no export: their current routes were read."]
      : OPERATIONS_SOURCES[opsSource]
    : [null, null];
  const exposure = d.exposure || null;
  const errors = d.validation_errors || [];
  const shownErrors = errors.slice(0, 5);

  return h(
    "article",
    { class: "card stack stage-definition", dataset: { stage: d.stage || "" }, "aria-labelledby": headingId },
    h(
      "div",
      { class: "card-head" },
      h("h3", { id: headingId }, d.stage ? `Stage ${d.stage}` : "Definition"),
      h(
        "div",
        {},
        d.valid === undefined ? null : invalid ? badge("Invalid OpenAPI", "error") : badge(`Valid ${formatName(d.format)}`, "ok"),
        d.canary ? [" ", badge(`Canary ${percent(d.canary.percent_traffic)}`, "warn")] : null,
      ),
    ),
    invalid
      ? notice(
          "error",
          "Invalid OpenAPI",
          h("p", {}, "This definition does not pass OpenAPI validation: tools that import it may reject it or skip parts of it."),
          shownErrors.length ? h("p", {}, errors.length > shownErrors.length ? `The first ${shownErrors.length} of ${errors.length} problems:` : shownErrors.length === 1 ? "The problem:" : "The problems:") : null,
          shownErrors.length ? h("ul", { class: "validation-errors" }, shownErrors.map((e) => h("li", {}, e))) : null,
        )
      : null,
    d.export_error ? notice("warn", "AWS could not export this stage", h("p", {}, d.export_error)) : null,
    h(
      "dl",
      { class: "facts" },
      d.deployment_id !== undefined ? fact("Deployment", d.deployment_id ? h("span", { class: "mono" }, d.deployment_id) : h("span", { class: "muted" }, "none (auto-deployed)")) : null,
      d.version !== undefined && d.version !== null ? fact("Version", `Version ${d.version}`) : null,
      sourceLabel ? fact("Operations read", [h("span", { class: "source-label" }, sourceLabel), h("div", { class: "muted small" }, sourceHelp)]) : null,
      fact("Operations", String(d.operations)),
      fact(
        "Unauthenticated",
        [
          h("span", { class: d.unauthenticated_operations ? "strong text-error" : undefined }, String(d.unauthenticated_operations)),
          exposure ? h("span", { class: "muted" }, ` · ${exposure.public} public + ${exposure.api_key_only} API key only (a key is not authentication)`) : null,
        ],
      ),
      d.cors_preflight_operations !== undefined ? fact("CORS preflight", [String(d.cors_preflight_operations), h("span", { class: "muted" }, " · counted apart: the OPTIONS requests browsers send before cross-origin calls")]) : null,
      fact("Document", `${formatName(d.format)} · ${documentSource(d)}`),
      fact("Size", `${(d.size_bytes / 1024).toFixed(1)} KiB`),
      fact("Fetched", formatDateTime(d.fetched_at)),
      fact("SHA-256", h("span", { class: "mono truncate", title: d.sha256 }, d.sha256)),
    ),
    d.canary ? canaryBlock(d.canary) : null,
    h("div", { class: "actions" }, downloadButton, viewButton),
    h("div", { class: "definition-output" }, status, preview),
  );
}

function canaryBlock(canary) {
  const unavailable = canary.source === "unavailable";
  return h(
    "div",
    { class: "panel stack canary" },
    h("h4", {}, `Canary: ${percent(canary.percent_traffic)} of traffic`),
    h(
      "dl",
      { class: "facts" },
      fact("Deployment", canary.deployment_id ? h("span", { class: "mono" }, canary.deployment_id) : "—"),
      unavailable
        ? fact("Operations", h("span", { class: "muted" }, "Could not be read from the canary's deployment."))
        : [
            fact("Operations", String(canary.operations)),
            fact("Unauthenticated", String(canary.unauthenticated_operations)),
            fact("API key", String(canary.api_key_operations)),
            fact("CORS preflight", String(canary.cors_preflight_operations ?? 0)),
          ],
    ),
  );
}

function fact(term, value) {
  return h("div", {}, h("dt", {}, term), h("dd", {}, value));
}

// ----------------------------------------------------------------------------------- changes

const CHANGES_PAGE_SIZE = 10;

/** What a change is, said for a person: [label, badge kind]. */
const CHANGE_KINDS = {
  onboarded: ["Onboarded", "info"],
  definition_changed: ["Definition changed", "info"],
  exposure_increased: ["Exposure increased", "warn"],
  exposure_decreased: ["Exposure decreased", "ok"],
  instance_added: ["Instance added", "info"],
  instance_retired: ["Instance retired", "neutral"],
  retired: ["Retired", "neutral"],
  orphaned: ["Orphaned", "warn"],
  restored: ["Restored", "ok"],
};

/** The "Changes" card: the application's history, newest first, a page at a time. */
function changesSection(id, signal) {
  const list = h("ol", { class: "change-list", "aria-labelledby": "changes-heading" });
  const more = h("div", { class: "actions" });
  const body = h("div", { class: "stack" }, loading("Loading changes…"));
  const section = h(
    "section",
    { class: "card stack changes", "aria-labelledby": "changes-heading" },
    h("h2", { id: "changes-heading" }, "Changes"),
    h("p", { class: "muted" }, "What Onboarder noticed in AWS, newest first."),
    body,
  );

  async function loadPage(cursor) {
    const page = await api(`/applications/${id}/changes`, { query: { limit: CHANGES_PAGE_SIZE, cursor }, signal });
    const added = page.items.map(changeItem);
    list.append(...added);
    replace(more);
    if (page.next_cursor) {
      const button = h("button", { type: "button", class: "button" }, "Show more");
      button.addEventListener("click", () =>
        busy(button, "Loading…", async () => {
          try {
            const next = await loadPage(page.next_cursor);
            // The button is gone when the history ends: the first new change takes the focus.
            if (!next.next_cursor && next.added.length) next.added[0].focus();
            else if (next.next_cursor) more.querySelector("button")?.focus();
            announce(`${plural(next.added.length, "older change")} shown`);
          } catch (error) {
            if (!isAbort(error)) replace(more, problemBox(error, { title: "Older changes could not be loaded" }));
          }
        }),
      );
      more.append(button);
    }
    return { ...page, added };
  }

  async function load() {
    try {
      const first = await loadPage(null);
      replace(body, first.items.length ? [list, more] : h("p", { class: "muted" }, "No change recorded yet."));
    } catch (error) {
      if (!isAbort(error)) replace(body, problemBox(error, { title: "The changes could not be loaded" }));
    }
  }

  return { section, load };
}

function changeItem(change) {
  const [label, kind] = CHANGE_KINDS[change.kind] || [change.kind, "neutral"];
  const warning = change.kind === "exposure_increased";
  return h(
    "li",
    { class: `change${warning ? " change-warning" : ""}`, tabindex: "-1", dataset: { kind: change.kind, changeId: change.id } },
    h(
      "div",
      { class: "change-head" },
      warning ? h("span", { class: "visually-hidden" }, "Warning: ") : null,
      badge(label, kind),
      change.stage ? badge(`stage ${change.stage}`, "neutral") : null,
      h("span", { class: "muted small" }, timeElement(change.occurred_at)),
    ),
    h("p", { class: "change-summary" }, change.summary),
    changeDetails(change),
  );
}

function changeDetails(change) {
  const details = change.details || {};
  switch (change.kind) {
    case "definition_changed":
      return h(
        "div",
        { class: "change-details" },
        details.version_before != null && details.version_after != null ? h("p", { class: "muted small" }, `Version ${details.version_before} → version ${details.version_after}`) : null,
        operationGroup("Appeared", details.operations_added, (op) => [exposureBadge(op.exposure), authorizerNote(op.authorizer_type)]),
        operationGroup("Disappeared", details.operations_removed, (op) => [exposureBadge(op.exposure), authorizerNote(op.authorizer_type)], { removed: true }),
        operationGroup("Authorization changed", details.operations_changed, (op) => [
          transition(op.before && op.before.exposure, op.after && op.after.exposure),
          authorizerChange(op.before, op.after),
        ]),
      );
    case "exposure_increased":
    case "exposure_decreased":
      return h(
        "div",
        { class: "change-details" },
        operationGroup(change.kind === "exposure_increased" ? "More exposed" : "Less exposed", details.operations, (op) => transition(op.before, op.after)),
      );
    case "instance_added":
      return details.url ? h("p", { class: "change-details" }, h("span", { class: "mono url" }, details.url)) : null;
    case "instance_retired":
      return details.url ? h("p", { class: "change-details" }, h("del", { class: "mono url" }, details.url)) : null;
    case "orphaned":
      return details.reason ? h("p", { class: "change-details muted" }, details.reason) : null;
    default:
      return null;
  }
}

/** A titled list of operations ("Appeared (2)"), each with what `describe` says of it. */
function operationGroup(title, operations, describe, { removed = false } = {}) {
  if (!operations || !operations.length) return null;
  const titleId = nextId("change-group");
  return h(
    "div",
    { class: "change-group", dataset: { group: title.toLowerCase().replace(/[^a-z]+/g, "_") } },
    h("p", { class: "change-group-title", id: titleId }, `${title} (${operations.length})`),
    h(
      "ul",
      { class: "change-operations", "aria-labelledby": titleId },
      operations.map((op) =>
        h(
          "li",
          { dataset: { method: op.method, path: op.path } },
          h(removed ? "del" : "span", { class: "operation" }, h("span", { class: "method" }, op.method), " ", h("span", { class: "mono" }, op.path)),
          " ",
          describe(op),
        ),
      ),
    ),
  );
}

/** "Authenticated → Public"; a new operation says "new →". */
function transition(before, after) {
  return h(
    "span",
    { class: "transition" },
    before ? exposureBadge(before) : badge("new", "neutral", "The operation did not exist before."),
    h("span", { class: "arrow", "aria-hidden": "true" }, " → "),
    h("span", { class: "visually-hidden" }, " becomes "),
    after ? exposureBadge(after) : badge("gone", "neutral"),
  );
}

function authorizerLabel(type) {
  return AUTHORIZER_LABELS[type] || type;
}

function authorizerNote(type) {
  return type ? h("span", { class: "muted small" }, ` · ${authorizerLabel(type)}`) : null;
}

/** Whether an operation lost, gained or swapped its authorizer. */
function authorizerChange(before, after) {
  const was = before && before.authorizer_type;
  const is = after && after.authorizer_type;
  if (was === is) return null;
  const text = was && !is ? `lost its authorizer (${authorizerLabel(was)})` : !was && is ? `gained an authorizer (${authorizerLabel(is)})` : `authorizer ${authorizerLabel(was)} → ${authorizerLabel(is)}`;
  return h("span", { class: `authorizer-change${was && !is ? " text-error" : ""}` }, ` · ${text}`);
}
