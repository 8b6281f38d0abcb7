/**
 * The picture of one manifest: its row containers in fold order (oldest
 * on the left), each a block whose width is its share of the manifest's
 * bytes and whose height is its row count against the largest container,
 * coloured by kind (segment or write-log batch), with the share of its rows
 * hidden by its tombstone sidecar hatched in red at the top. Built with
 * SVG DOM calls only; every label is a text node.
 */
import { formatBytes, formatCount, s } from "./dom.js";

const WIDTH = 960;
const PLOT_TOP = 34;
const PLOT_HEIGHT = 170;
const MIN_BLOCK = 14;
const GAP = 3;
const KIND = {
  SEGMENT: { label: "segment", fill: "#2f6f9f", text: "#ffffff" },
  LOG_BATCH: { label: "log batch", fill: "#e3a33b", text: "#2b1d05" },
};

/** Block widths: each at least MIN_BLOCK (less when there are very many), the rest by bytes. */
function widths(containers, total) {
  const n = containers.length;
  const gap = n > 1 && n * (MIN_BLOCK + GAP) < WIDTH / 2 ? GAP : 0;
  const usable = WIDTH - gap * (n - 1);
  const floor = Math.min(MIN_BLOCK, (usable * 0.5) / n);
  const spare = usable - floor * n;
  const bytes = containers.reduce((sum, c) => sum + c.byteSize, 0);
  return { gap, list: containers.map((c) => floor + (bytes > 0 ? (c.byteSize / bytes) * spare : spare / n)), total };
}

export function manifestPicture(manifest) {
  const containers = manifest.containers;
  const rows = containers.reduce((sum, c) => sum + c.rowCount, 0);
  const bytes = containers.reduce((sum, c) => sum + c.byteSize, 0);
  const hidden = containers.reduce((sum, c) => sum + (c.tombstonedRows ?? 0), 0);
  const segments = containers.filter((c) => c.kind === "SEGMENT").length;
  const height = PLOT_TOP + PLOT_HEIGHT + 58;
  const svg = s("svg", {
    class: "manifest-picture",
    viewBox: `0 0 ${WIDTH} ${height}`,
    role: "img",
    "aria-label": `manifest version ${manifest.version}: ${containers.length} containers`,
    "data-version": manifest.version,
  });
  svg.append(
    s(
      "defs",
      null,
      s(
        "pattern",
        { id: "tombstone-hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
        s("rect", { width: 6, height: 6, fill: "#c63d3d" }),
        s("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#f6c9c9", "stroke-width": 2 }),
      ),
    ),
    s(
      "text",
      { x: 0, y: 18, class: "picture-title" },
      `version ${manifest.version} · ${plural(containers.length, "container")} (${plural(segments, "segment")}, ${plural(containers.length - segments, "log batch", "log batches")}) · ${plural(rows, "row")} · ${formatBytes(bytes)}`,
      hidden > 0 ? ` · ${formatCount(hidden)} rows tombstoned` : "",
    ),
  );
  const base = PLOT_TOP + PLOT_HEIGHT;
  svg.append(s("line", { x1: 0, y1: base + 0.5, x2: WIDTH, y2: base + 0.5, class: "baseline" }));
  if (containers.length === 0) {
    svg.append(s("text", { x: WIDTH / 2, y: PLOT_TOP + PLOT_HEIGHT / 2, "text-anchor": "middle", class: "picture-empty" }, "no containers yet: nothing has been written"));
  }
  const maxRows = Math.max(1, ...containers.map((c) => c.rowCount));
  const { gap, list } = widths(containers, bytes);
  let x = 0;
  containers.forEach((c, i) => {
    const w = list[i];
    const kind = KIND[c.kind] ?? { label: String(c.kind), fill: "#888888", text: "#000000" };
    const hgt = Math.max(14, (c.rowCount / maxRows) * PLOT_HEIGHT);
    const y = base - hgt;
    const share = c.rowCount > 0 && c.tombstonedRows !== undefined ? Math.min(1, c.tombstonedRows / c.rowCount) : 0;
    const tip = [
      `#${i + 1} ${kind.label} ${c.id}`,
      `${formatCount(c.rowCount)} rows, ${formatBytes(c.byteSize)}`,
      c.tombstonedRows !== undefined ? `${formatCount(c.tombstonedRows)} rows tombstoned (${(share * 100).toFixed(1)}%)` : "",
      c.tombstonesError !== undefined ? `tombstones: ${c.tombstonesError}` : "",
      c.carrierVersion === undefined ? c.key : `carried by manifest v${c.carrierVersion}`,
    ]
      .filter(Boolean)
      .join("\n");
    const g = s(
      "g",
      { class: "container", "data-kind": c.kind, "data-id": c.id, "data-rows": c.rowCount, "data-bytes": c.byteSize, "data-tombstoned": c.tombstonedRows ?? 0 },
      s("title", null, tip),
      s("rect", { x, y, width: w, height: hgt, fill: kind.fill, rx: 2 }),
    );
    if (share > 0) g.append(s("rect", { x, y, width: w, height: Math.max(2, share * hgt), fill: "url(#tombstone-hatch)", rx: 2, class: "tombstoned" }));
    if (w >= 70 && hgt >= 40) {
      g.append(
        s("text", { x: x + 6, y: base - 22, fill: kind.text, class: "block-label" }, kind.label),
        s("text", { x: x + 6, y: base - 8, fill: kind.text, class: "block-sub" }, `${formatCount(c.rowCount)} rows · ${formatBytes(c.byteSize)}`),
      );
    }
    svg.append(g);
    x += w + gap;
  });
  const legendY = base + 22;
  svg.append(
    s("text", { x: 0, y: legendY, class: "axis" }, "fold order: oldest → newest (later rows of an id win) · width = bytes · height = rows"),
    legend(0, legendY + 22, KIND.SEGMENT.fill, "segment"),
    legend(110, legendY + 22, KIND.LOG_BATCH.fill, "write-log batch"),
    legend(250, legendY + 22, "url(#tombstone-hatch)", "rows hidden by a tombstone sidecar"),
  );
  return svg;
}

function plural(n, one, many = `${one}s`) {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

function legend(x, y, fill, label) {
  return s("g", { class: "legend" }, s("rect", { x, y: y - 10, width: 12, height: 12, fill, rx: 2 }), s("text", { x: x + 18, y }, label));
}
