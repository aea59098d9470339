// One application: where it comes from, its instances, its attack surface, its definition.

import { api, blob, isAbort, listAll } from "../api.js";
import { badge, busy, cell, formatDateTime, h, loading, notice, plural, problemBox, replace } from "../dom.js";

const AUTHORIZER_LABELS = {
  AWS_IAM: "IAM (SigV4)",
  TOKEN: "Lambda token",
  REQUEST: "Lambda request",
  COGNITO_USER_POOLS: "Cognito user pools",
  JWT: "JWT",
};

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

export async function applicationView(container, context) {
  const [id] = context.params;
  context.setTitle("Application");
  const heading = h("h1", {}, "Application");
  const content = h("div", { class: "stack" }, loading("Loading the application…"));
  replace(
    container,
    h("p", { class: "crumbs" }, h("a", { href: "#/applications" }, "Applications"), " / "),
    h("div", { class: "page-head" }, heading),
    content,
  );

  const application = await api(`/applications/${id}`, { signal: context.signal });
  context.setTitle(application.name);
  replace(heading, application.name);
  const source = application.source;
  const definition = application.definition;

  const connectionName = h("span", { class: "mono" }, source.connection_id || "deleted");
  if (source.connection_id) {
    api(`/connections/${source.connection_id}`, { signal: context.signal })
      .then((connection) => {
        connectionName.classList.remove("mono");
        replace(connectionName, connection.name);
      })
      .catch(() => {});
  }

  const authorizers = Object.entries(definition.authorizer_types || {});
  const surface = h(
    "section",
    { class: "card stack", "aria-labelledby": "surface-heading" },
    h("h2", { id: "surface-heading" }, "Attack surface"),
    h(
      "div",
      { class: "metrics" },
      metric("Operations", definition.operations, "neutral", "Methods and routes the API exposes."),
      metric("Unauthenticated", definition.unauthenticated_operations, definition.unauthenticated_operations ? "error" : "ok", "No authorization and no API key."),
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

  const definitionStatus = h("div", { "aria-live": "polite" });
  const preview = h("div");
  const downloadButton = h("button", { type: "button", class: "button button-primary" }, "Download definition (JSON)");
  const viewButton = h("button", { type: "button", class: "button", "aria-expanded": "false" }, "View definition");
  let documentText = null;

  async function fetchDefinition() {
    if (documentText === null) {
      const data = await blob(`/applications/${id}/openapi`, { signal: context.signal, accept: "application/json" });
      documentText = await data.text();
    }
    return documentText;
  }

  downloadButton.addEventListener("click", () =>
    busy(downloadButton, "Preparing…", async () => {
      try {
        const text = await fetchDefinition();
        const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
        const link = h("a", { href: url, download: `${safeFileName(application.name)}-openapi.json`, hidden: true });
        document.body.append(link);
        link.click();
        link.remove();
        window.setTimeout(() => URL.revokeObjectURL(url), 10000);
        replace(definitionStatus);
      } catch (error) {
        if (!isAbort(error)) replace(definitionStatus, problemBox(error, { title: "The definition could not be downloaded" }));
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
        replace(preview, h("pre", { class: "code-block", tabindex: "0", "aria-label": "Definition" }, pretty));
        replace(definitionStatus);
        viewButton.setAttribute("aria-expanded", "true");
      } catch (error) {
        if (!isAbort(error)) replace(definitionStatus, problemBox(error, { title: "The definition could not be loaded" }));
      }
    }).then(() => {
      if (viewButton.getAttribute("aria-expanded") === "true") replace(viewButton, "Hide definition");
    });
  });

  const definitionCard = h(
    "section",
    { class: "card stack", "aria-labelledby": "definition-heading" },
    h("h2", { id: "definition-heading" }, "Definition"),
    h(
      "dl",
      { class: "facts" },
      fact("Format", definition.format === "swagger_2" ? "Swagger 2.0" : definition.format === "openapi_3" ? "OpenAPI 3" : definition.format),
      fact("Source", definition.source === "aws_export" ? `AWS export${definition.stage ? ` of stage ${definition.stage}` : ""}` : "Built from the API's routes"),
      fact("Size", `${(definition.size_bytes / 1024).toFixed(1)} KiB`),
      fact("Fetched", formatDateTime(definition.fetched_at)),
      fact("SHA-256", h("span", { class: "mono truncate", title: definition.sha256 }, definition.sha256)),
    ),
    definition.export_error ? notice("warn", "AWS could not export this API", h("p", {}, definition.export_error)) : null,
    h("div", { class: "actions" }, downloadButton, viewButton),
    definitionStatus,
    preview,
  );

  const instances = h(
    "section",
    { class: "card stack", "aria-labelledby": "instances-heading" },
    h("h2", { id: "instances-heading" }, `Instances (${application.instances.length})`),
    h(
      "ul",
      { class: "instance-list" },
      application.instances.map((instance) =>
        h("li", {}, h("span", { class: "mono url" }, instance.url), " ", instance.stage ? badge(`stage ${instance.stage}`, "neutral") : null, /-vpce-/.test(instance.url) ? [" ", badge("VPC endpoint", "private")] : null),
      ),
    ),
  );

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

  const operations = h("section", { class: "card stack", "aria-labelledby": "operations-heading" }, h("h2", { id: "operations-heading" }, "Operations"), loading("Loading operations…"));

  const justOnboarded = Boolean(context.query.get("onboarded"));
  if (justOnboarded) {
    // Said once: a reload or a shared link shows the page without it.
    window.history.replaceState(null, "", `#/applications/${id}`);
  }
  replace(
    content,
    justOnboarded ? notice("success", "Application onboarded", h("p", {}, `${application.name} is ready for security testing with ${plural(application.instances.length, "instance")}.`)) : null,
    h("div", { class: "grid-2" }, surface, details),
    instances,
    definitionCard,
    operations,
  );

  try {
    const items = await listAll(`/applications/${id}/operations`, { signal: context.signal });
    replace(
      operations,
      h("h2", { id: "operations-heading" }, `Operations (${items.length})`),
      items.length
        ? h(
            "table",
            { class: "table" },
            h("thead", {}, h("tr", {}, ["Method", "Path", "Authorization", "API key"].map((t) => h("th", { scope: "col" }, t)))),
            h(
              "tbody",
              {},
              items.map((op) =>
                h(
                  "tr",
                  {},
                  cell("Method", h("span", { class: "method" }, op.method)),
                  cell("Path", h("span", { class: "mono" }, op.path)),
                  cell("Authorization", op.unauthenticated ? badge("None", "error") : badge(op.authorizer_name ? `${op.authorization} · ${op.authorizer_name}` : op.authorization, "neutral")),
                  cell("API key", op.api_key_required ? "Required" : "—"),
                ),
              ),
            ),
          )
        : h("p", { class: "muted" }, "The definition lists no operation."),
    );
  } catch (error) {
    if (isAbort(error)) return;
    replace(operations, h("h2", { id: "operations-heading" }, "Operations"), problemBox(error));
  }
}

function fact(term, value) {
  return h("div", {}, h("dt", {}, term), h("dd", {}, value));
}
