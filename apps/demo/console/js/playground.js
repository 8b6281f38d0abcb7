/**
 * The query playground of one namespace. The form (mode, filters, vector,
 * text, order, topK, attributes) writes a query request into the request
 * box, which can also be edited by hand; Run sends the box to the query
 * route and draws the rows. Modes: filters only (optionally ordered by an
 * attribute), vector (kNN; the vector pasted or taken from a document),
 * text (BM25 on one text field) and hybrid (reciprocal-rank fusion of the
 * vector and text rankings).
 */
import { api, nsUrl } from "./api.js";
import { cellText, errorBox, h, mount } from "./dom.js";

const MODES = [
  ["filters", "Filters"],
  ["vector", "Vector"],
  ["text", "Text (BM25)"],
  ["hybrid", "Hybrid (RRF)"],
];
const MAX_ATTRIBUTE_COLUMNS = 8;

/** Top-level keys one per line, values as compact JSON (vectors stay on one line). */
export function pretty(request) {
  const lines = Object.entries(request).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return `{\n${lines.join(",\n")}\n}`;
}

function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw Object.assign(new Error(`${what} is not JSON: ${error instanceof Error ? error.message : error}`), { code: "InvalidJson" });
  }
}

function resultsTable(rows) {
  const attrs = [];
  for (const row of rows) for (const k of Object.keys(row.attributes ?? {})) if (!attrs.includes(k) && attrs.length < MAX_ATTRIBUTE_COLUMNS) attrs.push(k);
  const hasScore = rows.some((r) => r.score !== undefined);
  const hasDistance = rows.some((r) => r.distance !== undefined);
  const head = ["#", "id", hasScore ? "score" : null, hasDistance ? "distance" : null, ...attrs].filter((c) => c !== null);
  return h(
    "table",
    { class: "grid results", "data-testid": "results-table" },
    h("thead", null, h("tr", null, head.map((c) => h("th", null, c)))),
    h(
      "tbody",
      null,
      rows.map((r, i) =>
        h(
          "tr",
          { class: "result-row" },
          h("td", { class: "num" }, i + 1),
          h("td", { class: "mono" }, r.id),
          hasScore ? h("td", { class: "num" }, cellText(r.score)) : null,
          hasDistance ? h("td", { class: "num" }, cellText(r.distance)) : null,
          attrs.map((a) => h("td", null, cellText(r.attributes?.[a]))),
        ),
      ),
    ),
  );
}

export function playgroundTab(root, { org, project, ns, info }) {
  const url = nsUrl(org, project, ns);
  const field = (id, label, control, hint) => h("div", { class: "field" }, h("label", { for: id }, label), control, hint ? h("small", null, hint) : null);

  const mode = h("div", { id: "q-mode", class: "modes", role: "radiogroup", "aria-label": "query mode" });
  for (const [value, label] of MODES) {
    mode.append(
      h("label", { class: "mode" }, h("input", { type: "radio", name: "mode", value, checked: value === "hybrid", onchange: () => update() }), label),
    );
  }
  const filters = h("textarea", { id: "q-filters", rows: 3, spellcheck: "false", oninput: () => update() });
  filters.value = '["in_stock", "Eq", true]';
  const vector = h("textarea", { id: "q-vector", rows: 3, spellcheck: "false", placeholder: "[0.12, -0.4, ...] or load one from a document", oninput: () => update() });
  const docId = h("input", { id: "q-doc", value: "p00042", size: 12, spellcheck: "false" });
  const vectorNote = h("small", { class: "dim" });
  const loadVector = h("button", { type: "button" }, "Use its vector");
  const textField = h("input", { id: "q-field", value: "body", size: 10, oninput: () => update() });
  const words = h("input", { id: "q-words", value: "vintage guitar", size: 28, oninput: () => update() });
  const order = h("input", { id: "q-order", value: "price asc", size: 14, placeholder: "attribute asc|desc", oninput: () => update() });
  const topK = h("input", { id: "q-topk", type: "number", min: 1, max: 1000, value: 10, oninput: () => update() });
  const include = h("input", { id: "q-include", value: "category, price, rating, in_stock", size: 30, oninput: () => update() });
  const request = h("textarea", { id: "q-request", class: "request", rows: 9, spellcheck: "false", "aria-label": "query request JSON" });
  const runButton = h("button", { type: "submit", class: "primary", "data-testid": "run-query" }, "Run query");
  const message = h("div", { class: "form-message" });
  const results = h("div", { class: "results-box", "data-testid": "results" }, h("p", { class: "dim" }, "Run a query to see its rows here."));

  const vectorBox = h("div", { class: "mode-part", "data-part": "vector" }, field("q-vector", "vector", vector), h("div", { class: "inline" }, h("span", null, "from document"), docId, loadVector, vectorNote));
  const textBox = h("div", { class: "mode-part inline", "data-part": "text" }, field("q-field", "text field", textField), field("q-words", "words", words));
  const orderBox = h("div", { class: "mode-part", "data-part": "order" }, field("q-order", "order by", order, "optional; e.g. price asc, year desc"));

  const currentMode = () => mode.querySelector("input:checked")?.value ?? "filters";

  function build() {
    const m = currentMode();
    const req = {};
    const vec = () => {
      const v = parseJson(vector.value.trim() || "null", "the vector");
      if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === "number")) {
        throw Object.assign(new Error("the vector must be a JSON array of numbers (paste one, or load one from a document)"), { code: "NoVector" });
      }
      return ["vector", "kNN", v];
    };
    const bm25 = () => [textField.value.trim(), "BM25", words.value];
    if (m === "vector") req.rankBy = vec();
    else if (m === "text") req.rankBy = bm25();
    else if (m === "hybrid") req.rankBy = ["RRF", [vec(), bm25()]];
    else if (order.value.trim() !== "") {
      const [attr, dir = "asc"] = order.value.trim().split(/\s+/);
      req.rankBy = [attr, dir.toLowerCase()];
    }
    if (filters.value.trim() !== "") req.filters = parseJson(filters.value, "the filters");
    req.topK = Number(topK.value) || 10;
    const inc = include.value.trim();
    if (inc === "*") req.includeAttributes = true;
    else if (inc !== "") req.includeAttributes = inc.split(",").map((a) => a.trim()).filter(Boolean);
    return req;
  }

  function update() {
    const m = currentMode();
    vectorBox.hidden = !(m === "vector" || m === "hybrid");
    textBox.hidden = !(m === "text" || m === "hybrid");
    orderBox.hidden = m !== "filters";
    try {
      request.value = pretty(build());
      mount(message);
    } catch (error) {
      mount(message, errorBox(error));
    }
  }

  async function fetchVector() {
    mount(vectorNote, "loading…");
    try {
      const doc = await api("GET", `${url}/documents/${encodeURIComponent(docId.value.trim())}`);
      if (!Array.isArray(doc.vector)) throw Object.assign(new Error(`document ${doc.id} has no vector`), { code: "NoVector" });
      vector.value = JSON.stringify(doc.vector.map((x) => Math.round(x * 1e6) / 1e6));
      mount(vectorNote, `${doc.vector.length} numbers from ${doc.id}`);
      update();
    } catch (error) {
      mount(vectorNote, errorBox(error));
    }
  }
  loadVector.addEventListener("click", fetchVector);

  async function run(event) {
    event?.preventDefault();
    let body;
    try {
      body = parseJson(request.value, "the request");
    } catch (error) {
      mount(results, errorBox(error));
      return;
    }
    runButton.disabled = true;
    mount(results, h("p", { class: "dim" }, "running…"));
    const started = performance.now();
    try {
      const answer = await api("POST", `${url}/query`, body);
      const ms = Math.round(performance.now() - started);
      mount(
        results,
        h("p", { class: "dim", "data-testid": "results-summary" }, `${answer.rows.length} rows at version ${answer.version} in ${ms} ms`),
        answer.rows.length > 0 ? resultsTable(answer.rows) : h("p", { class: "empty" }, "No rows matched."),
        answer.aggregations ? h("pre", { class: "json" }, JSON.stringify(answer.aggregations, null, 2)) : null,
      );
    } catch (error) {
      mount(results, errorBox(error));
    } finally {
      runButton.disabled = false;
    }
  }
  request.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) run(e);
  });

  const form = h(
    "form",
    { class: "playground", onsubmit: run, autocomplete: "off" },
    field("q-mode", "mode", mode),
    field("q-filters", "filters (JSON, optional)", filters, 'e.g. ["And", [["category", "Eq", "music"], ["price", "Lt", 40]]]'),
    vectorBox,
    textBox,
    orderBox,
    h("div", { class: "inline" }, field("q-topk", "topK", topK), field("q-include", "attributes", include, "comma-separated, * for all")),
    field("q-request", "request (sent as is; edit freely, Ctrl+Enter runs)", request),
    h("div", { class: "actions" }, runButton),
    message,
  );
  mount(
    root,
    h(
      "div",
      { class: "playground-grid" },
      h("section", { class: "card" }, h("h3", null, "Query"), form),
      h("section", { class: "card" }, h("h3", null, "Results"), results),
    ),
  );
  if (info.vectorDimension === undefined) {
    for (const input of mode.querySelectorAll("input")) if (input.value === "hybrid" || input.value === "vector") input.checked = false;
    mode.querySelector('input[value="text"]').checked = true;
    update();
  } else {
    update();
    fetchVector();
  }
}
