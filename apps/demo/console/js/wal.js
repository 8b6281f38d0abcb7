/**
 * The WAL tab of one namespace: its mutation state documents (what
 * deleteByFilter / patchByFilter leave while they run, decoded by the
 * server; one that does not decode shows the decoder's reason), a page at
 * a time in WAL id order with a "more" control, and a button that runs the
 * recovery sweep and shows its report.
 */
import { api, listPage, nsUrl } from "./api.js";
import { errorBox, formatTime, h, moreButton, mount } from "./dom.js";

function walTable(entries) {
  if (entries.length === 0) {
    return h("p", { class: "empty", "data-testid": "wal-empty" }, "No WAL state documents: no predicate mutation (deleteByFilter, patchByFilter) has one open here, and finished ones were collected.");
  }
  return h(
    "table",
    { class: "grid wal-table" },
    h("thead", null, h("tr", null, ["WAL id", "state", "operation", "created", "targets", "tombstones done", "lease", "arrow sidecar", "problem"].map((c) => h("th", null, c)))),
    h(
      "tbody",
      null,
      entries.map((e) =>
        h(
          "tr",
          { "data-state": e.state ?? "" },
          h("td", { class: "mono" }, e.walId),
          h("td", null, e.state === undefined ? "" : h("span", { class: `state state-${String(e.state).toLowerCase()}` }, e.state)),
          h("td", null, e.opKind ?? ""),
          h("td", null, formatTime(e.createdAt)),
          h("td", { class: "num" }, e.targets ?? ""),
          h("td", { class: "num" }, e.tombstoneProgress ?? ""),
          h("td", { class: "mono dim" }, e.leaseOwner === undefined ? "" : `${e.leaseOwner.slice(0, 8)}… until ${formatTime(e.leaseExpiresAt)}`),
          h("td", null, e.hasArrowSidecar ? "yes" : ""),
          h("td", { class: "bad" }, e.error ?? ""),
        ),
      ),
    ),
  );
}

export function walTab(root, { org, project, ns }) {
  const listBox = h("div", { "data-testid": "wal-list" }, "loading…");
  const reportBox = h("div", { class: "report", "data-testid": "recovery-report" });
  let generation = 0;
  /** Shows `entries` (every one loaded so far) and, while more follow, the control that loads the next page. */
  const show = (entries, nextCursor) => {
    const shown = ++generation;
    const counted = `${entries.length} state document${entries.length === 1 ? "" : "s"}${nextCursor === undefined ? "" : " shown, more follow"}`;
    mount(
      listBox,
      h("p", { class: "dim", "data-testid": "wal-count" }, counted),
      walTable(entries),
      nextCursor === undefined
        ? null
        : moreButton("wal-more", "More state documents", async () => {
            const page = await listPage(`${nsUrl(org, project, ns)}/wal`, "entries", nextCursor);
            if (generation === shown) show([...entries, ...page.items], page.nextCursor);
          }),
    );
  };
  const refresh = async () => {
    generation++;
    mount(listBox, h("p", { class: "dim" }, "loading…"));
    try {
      const page = await listPage(`${nsUrl(org, project, ns)}/wal`, "entries");
      show(page.items, page.nextCursor);
    } catch (error) {
      mount(listBox, errorBox(error));
    }
  };
  const recoverButton = h("button", { type: "button", class: "primary", "data-testid": "run-recovery" }, "Run recovery");
  recoverButton.addEventListener("click", async () => {
    recoverButton.disabled = true;
    mount(reportBox, h("p", { class: "dim" }, "running the recovery sweep…"));
    try {
      const started = performance.now();
      const report = await api("POST", `${nsUrl(org, project, ns)}/recover`);
      mount(
        reportBox,
        h("h4", null, `Recovery report (${Math.round(performance.now() - started)} ms)`),
        h("pre", { class: "json" }, JSON.stringify(report, null, 2)),
      );
      await refresh();
    } catch (error) {
      mount(reportBox, errorBox(error));
    } finally {
      recoverButton.disabled = false;
    }
  });
  mount(
    root,
    h(
      "section",
      { class: "card" },
      h("div", { class: "card-head" }, h("h3", null, "WAL state documents"), h("div", { class: "actions" }, h("button", { type: "button", onclick: refresh }, "Refresh"), recoverButton)),
      h(
        "p",
        { class: "dim" },
        "Recovery finishes interrupted compactions and predicate mutations and publishes pending tombstones; it is safe to run at any time (a write key is needed).",
      ),
      listBox,
      reportBox,
    ),
  );
  refresh();
}
