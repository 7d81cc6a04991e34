// The shell: who is signed in, which project is chosen, what the user may do there, and which page
// the URL's hash names. Pages are modules under ./pages/ exporting
// `async render(main, params, ctx)`, which may return a cleanup function (streams, timers).

import { listAll, session, setUnauthorizedHandler, signOut } from "./api.js";
import { h, idOf, replace } from "./dom.js";

// [pattern, page module, names of the captured parts, nav section]
const ROUTES = [
  [/^#\/signin$/, "signin", [], null],
  [/^#\/p\/([^/]+)\/dataconnectors$/, "connectors", ["project"], "dataconnectors"],
  [/^#\/p\/([^/]+)\/dataconnectors\/([^/]+)$/, "connector", ["project", "id"], "dataconnectors"],
  [/^#\/p\/([^/]+)\/devices$/, "devices", ["project"], "devices"],
  [/^#\/p\/([^/]+)\/devices\/([^/]+)$/, "device", ["project", "id"], "devices"],
  [/^#\/p\/([^/]+)\/emulator$/, "emulator", ["project"], "emulator"],
  [/^#\/p\/([^/]+)\/settings$/, "settings", ["project"], "settings"],
];

const SECTIONS = [
  ["dataconnectors", "Data Connectors"],
  ["devices", "Devices"],
  ["emulator", "Emulator"],
  ["settings", "Project settings"],
];

const state = {
  user: null,
  projects: [], // [{id, displayName}]
  permissions: new Map(), // project id → Set of permission names
  wanted: null, // the hash asked for before signing in
  pendingMessage: null, // shown once the next page has rendered
  cleanup: null,
  generation: 0,
};

const statusEl = () => document.getElementById("status");

/** Show a short message in the page's role="status" region (read out by screen readers). */
export function announce(message) {
  statusEl().textContent = message;
}

function navigate(hash, { message } = {}) {
  state.pendingMessage = message ?? null;
  if (location.hash === hash) route();
  else location.hash = hash;
}

function match(hash) {
  for (const [pattern, page, names, section] of ROUTES) {
    const found = hash.match(pattern);
    if (found) {
      const params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
      return { page, params, section };
    }
  }
  return null;
}

async function loadProjects() {
  const projects = await listAll("projects", "projects");
  state.projects = projects.map((p) => ({ id: idOf(p.name), displayName: p.displayName || idOf(p.name) }));
}

async function permissionsOf(project) {
  if (!state.permissions.has(project)) {
    const granted = await listAll(`projects/${encodeURIComponent(project)}/permissions`, "permissions");
    state.permissions.set(project, new Set(granted));
  }
  return state.permissions.get(project);
}

function renderSessionBar(project, section) {
  const bar = document.getElementById("session-bar");
  const select = h(
    "select",
    {
      id: "project-select",
      onchange: (event) =>
        navigate(`#/p/${encodeURIComponent(event.target.value)}/${section ?? "dataconnectors"}`),
    },
    state.projects.map((p) => h("option", { value: p.id, selected: p.id === project }, p.displayName)),
  );
  replace(
    bar,
    h("div", { class: "project-picker" }, h("label", { for: select.id }, "Project"), select),
    h("span", { class: "user", title: "Signed in as" }, state.user.email),
    h("button", { type: "button", onclick: doSignOut }, "Sign out"),
  );
  bar.hidden = false;
}

function renderNav(project, section) {
  const nav = document.getElementById("nav");
  const link = (key, text) =>
    h(
      "li",
      {},
      h(
        "a",
        {
          href: `#/p/${encodeURIComponent(project)}/${key}`,
          "aria-current": key === section ? "page" : null,
        },
        text,
      ),
    );
  const [connectors, ...rest] = SECTIONS;
  replace(
    nav,
    h("h2", { id: "nav-integrations" }, "API Integrations"),
    h("ul", { "aria-labelledby": "nav-integrations" }, link(...connectors)),
    h("h2", { id: "nav-project" }, "Project"),
    h(
      "ul",
      { "aria-labelledby": "nav-project" },
      rest.map(([key, text]) => link(key, text)),
    ),
    h("h2", { id: "nav-developers" }, "Developers"),
    h("ul", { "aria-labelledby": "nav-developers" }, h("li", {}, h("a", { href: "/docs" }, "API reference"))),
  );
  nav.hidden = false;
}

function hideChrome() {
  document.getElementById("nav").hidden = true;
  document.getElementById("session-bar").hidden = true;
}

/** A fresh <main>: a page still finishing an earlier render writes into a detached element. */
function freshMain() {
  const old = document.getElementById("main");
  const main = h("main", { id: "main", tabindex: "-1" });
  old.replaceWith(main);
  return main;
}

async function doSignOut() {
  try {
    await signOut();
  } catch {
    // the session is gone either way for this page
  }
  state.user = null;
  state.permissions.clear();
  navigate("#/signin", { message: "Signed out." });
}

async function signedIn(answer) {
  state.user = answer.user;
  state.permissions.clear();
  await loadProjects();
  const target = state.wanted && state.wanted !== "#/signin" ? state.wanted : null;
  state.wanted = null;
  navigate(target ?? homeHash());
}

function homeHash() {
  return state.projects.length ? `#/p/${encodeURIComponent(state.projects[0].id)}/dataconnectors` : "#/";
}

function showMessage(main, title, text) {
  replace(main, h("h1", {}, title), h("p", {}, text));
}

async function route() {
  const generation = ++state.generation;
  const hash = location.hash || "#/";
  const found = match(hash);
  if (state.cleanup) {
    try {
      state.cleanup();
    } catch (error) {
      console.error(error);
    }
    state.cleanup = null;
  }
  const message = state.pendingMessage;
  state.pendingMessage = null;
  announce(message ?? "");

  if (!state.user) {
    if (found?.page !== "signin") {
      state.wanted = hash;
      location.replace("#/signin");
      return;
    }
    hideChrome();
    const main = freshMain();
    const page = await import("./pages/signin.js");
    await page.render(main, {}, { navigate, announce, signedIn });
    return;
  }
  if (!found || found.page === "signin") {
    if (state.projects.length) location.replace(homeHash());
    else {
      hideChrome();
      showMessage(
        freshMain(),
        "No projects",
        "You are not a member of any project yet. Ask an administrator to add you.",
      );
      renderSessionBarOnly();
    }
    return;
  }
  const { project } = found.params;
  const main = freshMain();
  if (!state.projects.some((p) => p.id === project)) {
    renderSessionBar(state.projects[0]?.id, found.section);
    showMessage(main, "Project not found", "This project does not exist, or you are not a member of it.");
    return;
  }
  renderSessionBar(project, found.section);
  renderNav(project, found.section);
  let permissions;
  let module;
  try {
    [permissions, module] = await Promise.all([permissionsOf(project), import(`./pages/${found.page}.js`)]);
  } catch (error) {
    if (generation === state.generation) showMessage(main, "Something went wrong", error.message);
    return;
  }
  if (generation !== state.generation) return;
  const ctx = {
    project,
    projects: state.projects,
    permissions,
    user: state.user,
    navigate,
    announce,
  };
  try {
    const cleanup = await module.render(main, found.params, ctx);
    if (generation === state.generation) state.cleanup = typeof cleanup === "function" ? cleanup : null;
    else if (typeof cleanup === "function") cleanup();
  } catch (error) {
    console.error(error);
    if (generation === state.generation) showMessage(main, "Something went wrong", error.message);
  }
  if (message) announce(message);
  // Move focus to the new view (unless the page put it somewhere itself), so keyboard and
  // screen-reader users start reading at the top of what just changed.
  if (generation === state.generation && !main.contains(document.activeElement))
    main.focus({ preventScroll: true });
}

function renderSessionBarOnly() {
  const bar = document.getElementById("session-bar");
  replace(
    bar,
    h("span", { class: "user" }, state.user.email),
    h("button", { type: "button", onclick: doSignOut }, "Sign out"),
  );
  bar.hidden = false;
}

async function start() {
  setUnauthorizedHandler(() => {
    if (!state.user) return;
    state.user = null;
    state.permissions.clear();
    state.wanted = location.hash;
    navigate("#/signin", { message: "Your session has ended. Please sign in again." });
  });
  window.addEventListener("hashchange", route);
  try {
    const answer = await session();
    if (answer) {
      state.user = answer.user;
      await loadProjects();
    }
  } catch (error) {
    showMessage(document.getElementById("main"), "Studio cannot reach the server", error.message);
    return;
  }
  route();
}

start();
