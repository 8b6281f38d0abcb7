/**
 * The storage tab of one namespace: its info, the list of stored manifest
 * versions (newest first, a page at a time with a "more" control;
 * choosing one redraws the picture at that version), the picture of the chosen manifest's containers and the same
 * containers as a table.
 */
import { api, listPage, nsUrl } from "./api.js";
import { errorBox, facts, formatBytes, formatCount, formatTime, h, moreButton, mount } from "./dom.js";
import { manifestPicture } from "./picture.js";


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
    for (const b of versionsBox.querySelectorAll("button.version")) b.classList.toggle("selected", Number(b.dataset.version) === version);
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

  const path = `${nsUrl(org, project, ns)}/versions?order=desc`;
  /** Shows `versions` (every one loaded so far, newest first) and, while older ones follow, the control that loads the next page. */
  function showVersions(versions, nextCursor) {
    mount(
      versionsBox,
      h("p", { class: "dim" }, `${formatCount(versions.length)}${nextCursor === undefined ? "" : " newest"} stored, newest first; choose one to draw it.`),
      h(
        "div",
        { class: "version-list" },
        versions.map((v) => h("button", { type: "button", class: "version", "data-version": v, onclick: () => draw(v) }, `v${v}`)),
      ),
      nextCursor === undefined
        ? null
        : moreButton("versions-more", "Older versions", async () => {
            const page = await listPage(path, "versions", nextCursor);
            showVersions([...versions, ...page.items], page.nextCursor);
          }),
    );
    for (const b of versionsBox.querySelectorAll("button.version")) b.classList.toggle("selected", Number(b.dataset.version) === chosen);
  }

  (async () => {
    try {
      const page = await listPage(path, "versions");
      showVersions(page.items, page.nextCursor);
    } catch (error) {
      mount(versionsBox, errorBox(error));
    }
  })();
  draw(info.version);
}
