/**
 * The storage tab of one namespace: its info, the list of stored manifest
 * versions (newest first; choosing one redraws the picture at that
 * version), the picture of the chosen manifest's containers and the same
 * containers as a table.
 */
import { api, nsUrl } from "./api.js";
import { errorBox, facts, formatBytes, formatCount, formatTime, h, mount } from "./dom.js";
import { manifestPicture } from "./picture.js";

const MAX_VERSION_BUTTONS = 300;

export function infoFacts(info) {
  const labels = Object.entries(info.labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
  return facts([
    ["version", String(info.version)],
    ["documents", formatCount(info.docCount)],
    ["segments", formatCount(info.segments)],
    ["log batches", formatCount(info.logBatches)],
    ["bytes", formatBytes(info.bytes)],
    ["vectors", `${info.distanceMetric}${info.vectorDimension === undefined ? "" : `, ${info.vectorDimension} dims`}`],
    ["labels", labels],
    ["parent", info.parent === undefined ? "" : `${info.parent.namespace} @ ${info.parent.version}`],
    ["created", formatTime(info.createdAt)],
    ["updated", formatTime(info.updatedAt)],
  ]);
}

function containerTable(manifest) {
  return h(
    "table",
    { class: "grid containers-table" },
    h("thead", null, h("tr", null, ["#", "kind", "container id", "rows", "bytes", "tombstoned", "object key"].map((c) => h("th", null, c)))),
    h(
      "tbody",
      null,
      manifest.containers.map((c, i) =>
        h(
          "tr",
          { "data-kind": c.kind },
          h("td", { class: "num" }, i + 1),
          h("td", null, h("span", { class: `kind kind-${c.kind === "SEGMENT" ? "segment" : "log"}` }, c.kind === "SEGMENT" ? "segment" : "log batch")),
          h("td", { class: "mono" }, c.id),
          h("td", { class: "num" }, formatCount(c.rowCount)),
          h("td", { class: "num" }, formatBytes(c.byteSize)),
          h("td", { class: "num" }, c.tombstonesError !== undefined ? `? (${c.tombstonesError})` : c.tombstonedRows === undefined ? "" : formatCount(c.tombstonedRows)),
          h("td", { class: "mono dim" }, c.carrierVersion === undefined ? c.key : `carried by v${c.carrierVersion} (then ${c.key})`),
        ),
      ),
    ),
  );
}

export function storageTab(root, { org, project, ns, info }) {
  const versionsBox = h("div", { class: "versions", "data-testid": "versions" }, "loading versions…");
  const pictureBox = h("div", { class: "picture", "data-testid": "picture" });
  const tableBox = h("div", { class: "table-wrap" });
  mount(
    root,
    h("section", { class: "card" }, h("h3", null, "Namespace"), infoFacts(info)),
    h("section", { class: "card" }, h("h3", null, "Manifest versions"), versionsBox),
    h("section", { class: "card" }, h("h3", null, "Containers of the manifest"), pictureBox, tableBox),
  );

  let chosen = info.version;
  async function draw(version) {
    chosen = version;
    for (const b of versionsBox.querySelectorAll("button")) b.classList.toggle("selected", Number(b.dataset.version) === version);
    mount(pictureBox, h("p", { class: "dim" }, `loading manifest ${version}…`));
    mount(tableBox);
    try {
      const manifest = await api("GET", `${nsUrl(org, project, ns)}/manifest?atVersion=${version}`);
      if (chosen !== version) return;
      mount(pictureBox, manifestPicture(manifest));
      mount(tableBox, containerTable(manifest));
    } catch (error) {
      if (chosen === version) mount(pictureBox, errorBox(error));
    }
  }

  (async () => {
    try {
      const { versions } = await api("GET", `${nsUrl(org, project, ns)}/versions`);
      const newest = [...versions].reverse();
      const shown = newest.slice(0, MAX_VERSION_BUTTONS);
      mount(
        versionsBox,
        h("p", { class: "dim" }, `${formatCount(versions.length)} stored, newest first; choose one to draw it.`),
        h(
          "div",
          { class: "version-list" },
          shown.map((v) => h("button", { type: "button", class: "version", "data-version": v, onclick: () => draw(v) }, `v${v}`)),
          newest.length > shown.length ? h("span", { class: "dim" }, ` … ${formatCount(newest.length - shown.length)} older`) : null,
        ),
      );
      for (const b of versionsBox.querySelectorAll("button")) b.classList.toggle("selected", Number(b.dataset.version) === chosen);
    } catch (error) {
      mount(versionsBox, errorBox(error));
    }
  })();
  draw(info.version);
}
