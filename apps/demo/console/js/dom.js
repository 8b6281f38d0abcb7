/**
 * DOM helpers of the console. Every piece of data reaches the page as a
 * text node or an attribute value set through the DOM API, never as HTML:
 * there is no innerHTML anywhere in the console, so nothing a document,
 * a label or an error message contains can become markup or script.
 */

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * h("div", { class: "x", onclick: fn }, "text", child, [more]) -> Element.
 * Attribute names come from the console's own code; `on*` values must be
 * functions (attached as listeners); null/undefined/false attributes and
 * children are skipped; strings and numbers become text nodes.
 */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** The same for SVG elements. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(el, attrs, children) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) {
      if (typeof value !== "function") throw new Error(`${name} must be a function`);
      el.addEventListener(name.slice(2), value);
    } else if (name === "value" && "value" in el) {
      el.value = String(value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/**
 * The "more" control of a paged list: a button that runs `load` (which
 * fetches and shows the next page), disabled meanwhile; a failure shows
 * beside it and the button stays to try again.
 */
export function moreButton(testid, label, load) {
  const problem = h("span", { class: "more-problem" });
  const button = h("button", { type: "button", class: "more", "data-testid": testid }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    mount(problem);
    try {
      await load();
    } catch (error) {
      mount(problem, errorBox(error));
    } finally {
      button.disabled = false;
    }
  });
  return h("div", { class: "more-row" }, button, problem);
}

/** Replaces every child of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function formatBytes(n) {
  if (typeof n !== "number" || !Number.isFinite(n)) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

export function formatCount(n) {
  return typeof n === "number" && Number.isFinite(n) ? n.toLocaleString("en-US") : "";
}

export function formatTime(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "";
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** A JSON value as compact text for a table cell. */
export function cellText(value) {
  if (value === undefined || value === null) return "";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(4).replace(/0+$/, "").replace(/\.$/, "");
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** A small definition table: [[label, value], ...]. */
export function facts(rows) {
  return h(
    "dl",
    { class: "facts" },
    rows.filter((r) => r[1] !== undefined && r[1] !== "").map(([label, value]) => h("div", null, h("dt", null, label), h("dd", null, value))),
  );
}

export function errorBox(error) {
  const code = error && typeof error.code === "string" ? error.code : "Error";
  const message = error && typeof error.message === "string" ? error.message : String(error);
  return h("div", { class: "error", role: "alert" }, h("strong", null, code), " ", message);
}
