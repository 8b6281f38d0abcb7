/**
 * The Skerry web console: routing (the location hash), the API key, the
 * project's namespaces with their info, and one namespace's tabs (storage,
 * WAL, query). Routes:
 *
 *   #/<org>/<project>                       namespaces of a project
 *   #/<org>/<project>/<namespace>/<tab>     one namespace (storage | wal | query)
 *
 * The namespaces come a page at a time (api.js PAGE_SIZE) with a "more"
 * control; the pages loaded for a project stay loaded when the hash
 * changes (they are fetched again, as many as were shown).
 *
 * The key the user pastes stays in sessionStorage (this tab only) and is
 * sent as a bearer token to this server's JSON API; the page itself holds
 * no secret and renders all data as text (dom.js).
 */
import { api, getKey, listPage, nsUrl, projectUrl, setKey } from "./api.js";
import { errorBox, formatBytes, formatCount, formatTime, h, moreButton, mount } from "./dom.js";
import { playgroundTab } from "./playground.js";
import { storageTab } from "./storage.js";
import { walTab } from "./wal.js";

const TABS = [
  ["storage", "Storage"],
  ["wal", "WAL"],
  ["query", "Query"],
];
const DEFAULT_SCOPE = { org: "demo", project: "sample" };
const INFO_CONCURRENCY = 4;
/** Pages of namespaces shown, by "org/project" (a Map: the names are the user's). */
const pagesShown = new Map();

const app = document.getElementById("app");
const keyStatus = document.getElementById("key-status");
const scopeForm = document.getElementById("scope-form");
const orgInput = document.getElementById("org");
const projectInput = document.getElementById("project");

function parseRoute() {
  const parts = location.hash
    .replace(/^#\/?/, "")
    .split("/")
    .filter((p) => p !== "")
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  const [org = DEFAULT_SCOPE.org, project = DEFAULT_SCOPE.project, ns, tab] = parts;
  return { org, project, ns, tab: TABS.some(([t]) => t === tab) ? tab : "storage" };
}

function href(org, project, ns, tab) {
  const parts = [org, project, ns, tab].filter((p) => p !== undefined).map(encodeURIComponent);
  return `#/${parts.join("/")}`;
}

function renderKeyStatus() {
  const key = getKey();
  if (key === "") {
    mount(keyStatus);
    return;
  }
  mount(
    keyStatus,
    h("span", { class: "dim" }, "key "),
    h("code", null, `${key.slice(0, 6)}…${key.slice(-4)}`),
    " ",
    h(
      "button",
      {
        type: "button",
        class: "link",
        onclick: () => {
          setKey("");
          render();
        },
      },
      "forget",
    ),
  );
}

function keyForm(message) {
  const input = h("input", { id: "api-key", type: "password", name: "api-key", autocomplete: "off", spellcheck: "false", placeholder: "sk_…", size: 48, required: true });
  const form = h(
    "form",
    {
      class: "card key-form",
      onsubmit: (e) => {
        e.preventDefault();
        setKey(input.value.trim());
        render();
      },
    },
    h("h2", null, "Sign in with an API key"),
    h(
      "p",
      null,
      "Paste a Skerry API key. It stays in this browser tab (sessionStorage) and is sent only to this server. ",
      "`pnpm demo` prints the admin key on its first run and saves it to ",
      h("code", null, ".skerry-data/admin-key.txt"),
      ".",
    ),
    message ? errorBox(message) : null,
    h("div", { class: "inline" }, input, h("button", { type: "submit", class: "primary" }, "Use key")),
  );
  return form;
}

/** The project's namespaces, as many pages as were shown last time (at least one): `{ names, nextCursor }`. */
async function loadNamespaces(route) {
  const want = pagesShown.get(`${route.org}/${route.project}`) ?? 1;
  const names = [];
  let cursor;
  for (let pages = 0; pages < want; pages++) {
    const page = await listPage(projectUrl(route.org, route.project), "namespaces", cursor);
    names.push(...page.items);
    cursor = page.nextCursor;
    if (cursor === undefined) break;
  }
  return { names, nextCursor: cursor };
}

/** Info of every namespace, a few at a time; a failure shows in its row. */
async function allInfo(org, project, names) {
  const out = new Array(names.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(INFO_CONCURRENCY, names.length) }, async () => {
      while (next < names.length) {
        const i = next++;
        try {
          out[i] = await api("GET", nsUrl(org, project, names[i]));
        } catch (error) {
          out[i] = { error };
        }
      }
    }),
  );
  return out;
}

function sidebar(route, names, infos, more) {
  return h(
    "nav",
    { class: "sidebar", "aria-label": "namespaces" },
    h("h2", null, h("a", { href: href(route.org, route.project) }, `${route.org}/${route.project}`)),
    names.length === 0 ? h("p", { class: "dim" }, "No namespaces yet.") : null,
    h(
      "ul",
      { class: "ns-list", "data-testid": "namespace-list" },
      names.map((name, i) => {
        const info = infos[i];
        return h(
          "li",
          { class: name === route.ns ? "active" : null },
          h(
            "a",
            { href: href(route.org, route.project, name, route.ns === undefined ? "storage" : route.tab), "data-namespace": name },
            h("span", { class: "ns-name" }, name),
            h("span", { class: "ns-meta" }, info?.error ? info.error.code : `${formatCount(info?.docCount)} docs · ${formatBytes(info?.bytes)} · v${info?.version}`),
          ),
        );
      }),
    ),
    more?.("namespaces-more", "More namespaces"),
  );
}

function projectView(route, names, infos, more) {
  return h(
    "section",
    { class: "card" },
    h("h2", null, `Namespaces of ${route.org}/${route.project}`),
    names.length === 0
      ? h("p", { class: "empty" }, "This project has no namespaces. Create one with POST ", h("code", null, projectUrl(route.org, route.project)), " or `skerry ns create`.")
      : h(
          "table",
          { class: "grid namespaces-table", "data-testid": "namespaces-table" },
          h("thead", null, h("tr", null, ["namespace", "version", "documents", "segments", "log batches", "bytes", "vectors", "updated"].map((c) => h("th", null, c)))),
          h(
            "tbody",
            null,
            names.map((name, i) => {
              const info = infos[i];
              const link = h("a", { href: href(route.org, route.project, name, "storage") }, name);
              if (info?.error) return h("tr", null, h("td", null, link), h("td", { colspan: 7 }, errorBox(info.error)));
              return h(
                "tr",
                { "data-namespace": name },
                h("td", null, link),
                h("td", { class: "num" }, info.version),
                h("td", { class: "num" }, formatCount(info.docCount)),
                h("td", { class: "num" }, formatCount(info.segments)),
                h("td", { class: "num" }, formatCount(info.logBatches)),
                h("td", { class: "num" }, formatBytes(info.bytes)),
                h("td", null, `${info.distanceMetric}${info.vectorDimension === undefined ? "" : ` · ${info.vectorDimension}d`}`),
                h("td", null, formatTime(info.updatedAt)),
              );
            }),
          ),
        ),
    more?.("namespaces-table-more", "More namespaces"),
  );
}

function namespaceView(route, info) {
  const body = h("div", { class: "tab-body", "data-tab": route.tab });
  const view = h(
    "div",
    { class: "namespace" },
    h(
      "div",
      { class: "ns-head" },
      h("h2", null, h("span", { class: "dim" }, `${route.org}/${route.project}/`), route.ns),
      h("span", { class: "pill" }, `v${info.version}`),
      h("span", { class: "pill" }, `${formatCount(info.docCount)} documents`),
    ),
    h(
      "div",
      { class: "tabs", role: "tablist" },
      TABS.map(([tab, label]) =>
        h("a", { href: href(route.org, route.project, route.ns, tab), role: "tab", class: tab === route.tab ? "tab active" : "tab", "aria-selected": String(tab === route.tab), "data-tab": tab }, label),
      ),
    ),
    body,
  );
  const ctx = { org: route.org, project: route.project, ns: route.ns, info };
  if (route.tab === "wal") walTab(body, ctx);
  else if (route.tab === "query") playgroundTab(body, ctx);
  else storageTab(body, ctx);
  return view;
}

let renderId = 0;

async function render() {
  const id = ++renderId;
  const route = parseRoute();
  orgInput.value = route.org;
  projectInput.value = route.project;
  renderKeyStatus();
  if (getKey() === "") {
    mount(app, keyForm());
    document.getElementById("api-key")?.focus();
    return;
  }
  mount(app, h("p", { class: "dim loading" }, "loading…"));
  const listing = { names: [], infos: [], nextCursor: undefined };
  try {
    const loaded = await loadNamespaces(route);
    listing.names = loaded.names;
    listing.nextCursor = loaded.nextCursor;
    listing.infos = await allInfo(route.org, route.project, listing.names);
  } catch (error) {
    if (id !== renderId) return;
    if (error.status === 401) {
      setKey("");
      renderKeyStatus();
      mount(app, keyForm(error));
    } else {
      mount(app, h("div", { class: "layout" }, h("nav", { class: "sidebar" }), h("div", { class: "content" }, errorBox(error))));
    }
    return;
  }
  if (id !== renderId) return;
  // The next page of namespaces, appended; the sidebar (and the project's table) drawn again, a namespace's tab left as it is.
  let loading;
  const loadMore = () => {
    loading ??= nextNamespaces().finally(() => {
      loading = undefined;
    });
    return loading;
  };
  const nextNamespaces = async () => {
    const page = await listPage(projectUrl(route.org, route.project), "namespaces", listing.nextCursor);
    const infos = await allInfo(route.org, route.project, page.items);
    if (id !== renderId) return;
    listing.names = [...listing.names, ...page.items];
    listing.infos = [...listing.infos, ...infos];
    listing.nextCursor = page.nextCursor;
    const scope = `${route.org}/${route.project}`;
    pagesShown.set(scope, (pagesShown.get(scope) ?? 1) + 1);
    draw();
  };
  const more = (testid, label) => (listing.nextCursor === undefined ? null : moreButton(testid, label, loadMore));
  const content = h("div", { class: "content" });
  let side = sidebar(route, listing.names, listing.infos, more);
  mount(app, h("div", { class: "layout" }, side, content));
  function draw() {
    const next = sidebar(route, listing.names, listing.infos, more);
    side.replaceWith(next);
    side = next;
    if (route.ns === undefined) mount(content, projectView(route, listing.names, listing.infos, more));
  }
  if (route.ns === undefined) {
    mount(content, projectView(route, listing.names, listing.infos, more));
    return;
  }
  const { names, infos } = listing;
  const i = names.indexOf(route.ns);
  const info = i >= 0 && !infos[i].error ? infos[i] : undefined;
  if (info === undefined) {
    try {
      mount(content, namespaceView(route, await api("GET", nsUrl(route.org, route.project, route.ns))));
    } catch (error) {
      if (id === renderId) mount(content, errorBox(error));
    }
    return;
  }
  mount(content, namespaceView(route, info));
}

scopeForm.addEventListener("submit", (e) => {
  e.preventDefault();
  location.hash = href(orgInput.value.trim(), projectInput.value.trim());
});
window.addEventListener("hashchange", render);
render();

