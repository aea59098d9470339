// The console's shell: sign-in, the hash router, the header.

import { ApiError, api, auth, isAbort } from "./api.js";
import { busy, field, h, notice, problemBox, replace } from "./dom.js";
import { activityView } from "./views/activity.js";
import { applicationView } from "./views/application.js";
import { applicationsView } from "./views/applications.js";
import { candidatesView } from "./views/candidates.js";
import { integrationsView } from "./views/integrations.js";
import { runView } from "./views/run.js";
import { setupView } from "./views/setup.js";
import { webhooksView } from "./views/webhooks.js";
import { wizardView } from "./views/wizard.js";

const ROUTES = [
  [/^\/applications\/new$/, wizardView, "new"],
  [/^\/applications\/([0-9a-f-]{36})$/, applicationView, "applications"],
  [/^\/applications$/, applicationsView, "applications"],
  [/^\/integrations$/, integrationsView, "integrations"],
  [/^\/integrations\/([0-9a-f-]{36})\/review$/, candidatesView, "integrations"],
  [/^\/integrations\/([0-9a-f-]{36})\/runs\/([0-9a-f-]{36})$/, runView, "integrations"],
  [/^\/setup$/, setupView, "setup"],
  [/^\/activity$/, activityView, "activity"],
  [/^\/webhooks$/, webhooksView, "webhooks"],
];

const main = document.getElementById("main");
let navigation = null;
let firstRender = true;
let tenantName = null;

function parseHash() {
  const raw = window.location.hash.replace(/^#/, "") || "/";
  const [path, search = ""] = raw.split("?");
  return { path: path || "/", query: new URLSearchParams(search) };
}

export function navigate(hash) {
  if (window.location.hash === hash) render();
  else window.location.hash = hash;
}

function setShell(signedIn) {
  document.getElementById("mainnav").hidden = !signedIn;
  document.getElementById("session").hidden = !signedIn;
  document.getElementById("tenant-name").textContent = signedIn && tenantName ? tenantName : "";
}

function markNav(active) {
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function loadTenant(signal) {
  if (tenantName) return;
  try {
    const tenant = await api("/tenant", { signal });
    tenantName = tenant.name;
    document.getElementById("tenant-name").textContent = tenantName;
  } catch (error) {
    if (!isAbort(error) && !(error instanceof ApiError && error.status === 401)) throw error;
  }
}

function render() {
  if (navigation) navigation.abort();
  navigation = new AbortController();
  const { signal } = navigation;
  const { path, query } = parseHash();

  if (!auth.get()) {
    setShell(false);
    markNav(null);
    signInView(main);
    return;
  }
  setShell(true);
  loadTenant(signal).catch(() => {});

  const match = ROUTES.map(([pattern, view, nav]) => [path.match(pattern), view, nav]).find(([m]) => m);
  if (!match) {
    window.location.replace("#/applications");
    return;
  }
  const [found, view, nav] = match;
  markNav(nav);
  main.replaceChildren();
  const context = {
    params: found.slice(1),
    query,
    signal,
    navigate,
    setTitle(title) {
      document.title = title ? `${title} · Onboarder` : "Onboarder";
    },
  };
  Promise.resolve(view(main, context)).catch((error) => {
    if (isAbort(error) || signal.aborted) return;
    main.append(problemBox(error));
  });
  if (!firstRender) {
    const heading = main.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  }
  firstRender = false;
  window.scrollTo(0, 0);
}

function signInView(container) {
  document.title = "Sign in · Onboarder";
  const input = h("input", {
    type: "password",
    name: "api_key",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    placeholder: "onb_…",
  });
  const result = h("div", { class: "form-result" });
  const submit = h("button", { type: "submit", class: "button button-primary" }, "Sign in");
  const form = h(
    "form",
    { class: "stack", novalidate: true },
    field("Tenant API key", input, {
      help: "Kept in this tab's session storage only: closing the tab forgets it.",
    }),
    result,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) {
      replace(result, notice("error", "Paste an API key first."));
      input.focus();
      return;
    }
    await busy(submit, "Checking key…", async () => {
      try {
        const tenant = await api("/tenant", { key });
        auth.set(key);
        tenantName = tenant.name;
        replace(result);
        if (!window.location.hash || window.location.hash === "#/") window.location.hash = "#/applications";
        else render();
      } catch (error) {
        replace(
          result,
          problemBox(error, {
            title: error instanceof ApiError && error.status === 401 ? "That key was not accepted" : undefined,
          }),
        );
        input.select();
      }
    });
  });
  replace(
    container,
    h(
      "section",
      { class: "signin card" },
      h("h1", {}, "Sign in to Onboarder"),
      h(
        "p",
        { class: "muted" },
        "Paste your tenant's API key (from ",
        h("code", {}, "onboarder tenants create"),
        ", ",
        h("code", {}, "onboarder keys create"),
        " or the banner of ",
        h("code", {}, "onboarder demo"),
        ").",
      ),
      form,
    ),
  );
  input.focus();
}

document.getElementById("sign-out").addEventListener("click", () => {
  auth.clear();
  tenantName = null;
  window.location.hash = "#/applications";
  render();
});

window.addEventListener("onboarder:signed-out", () => {
  tenantName = null;
  render();
});
window.addEventListener("hashchange", render);
render();
