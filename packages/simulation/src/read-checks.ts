/**
 * The auditor's checks of one read result, shared by the auditor's own
 * fault-free reads and the reader actors' reads through faulty processes:
 *
 * - owned documents (strong reads): explainable by the owner's model: every
 *   acknowledged write visible, every unknown-outcome write applied wholly
 *   or not at all, deleted documents absent (owned-docs.ts);
 * - linearizable version: a strong read's version is at least every version
 *   acknowledged before it started;
 * - one version, one answer: reads of the plain-write documents at one
 *   manifest version (strong, eventual or atVersion) return the same;
 * - the bank: every coin exactly once with its value and a valid holder, so
 *   the sum of values is conserved by patchByFilter moves.
 */
import type { StoredDocument } from "@skerry/namespace-engine";
import type { ReadWindow } from "./owned-docs.ts";
import { observe, rowOf } from "./observation.ts";
import { rowKey } from "./owned-docs.ts";
import { BANK_TOTAL, COINS, HOLDERS, type SimWorld } from "./sim-world.ts";

/** Read windows of every model of `path`, taken when a read starts. */
export function startWindows(world: SimWorld, path: string): Map<string, ReadWindow> {
  const out = new Map<string, ReadWindow>();
  for (const [prefix, entry] of world.models) if (entry.path === path) out.set(prefix, entry.docs.startRead());
  return out;
}

/** Forgets the windows of a read that failed. */
export function releaseWindows(world: SimWorld, windows: Map<string, ReadWindow>): void {
  for (const [prefix, window] of windows) world.models.get(prefix)?.docs.release(window);
}

export function checkStrongRead(
  world: SimWorld,
  who: string,
  path: string,
  windows: Map<string, ReadWindow>,
  ackedAtStart: number,
  version: number,
  docs: readonly StoredDocument[],
): void {
  if (version < ackedAtStart) {
    world.violate("strong reads see every acknowledged version", `${who} read ${path} at v${version} after v${ackedAtStart} was acknowledged`);
  }
  const owned = new Set<string>();
  for (const [prefix, window] of windows) {
    const entry = world.models.get(prefix);
    if (entry === undefined) continue;
    const seen = observe(docs, prefix);
    for (const id of seen.keys()) owned.add(id);
    if (!entry.docs.check(window, version, seen)) {
      const saw = [...seen.entries()].map(([id, r]) => `${id}=${rowKey(r)}`).join(" ");
      world.violate(
        "every acknowledged write is visible to a strong read, atomically, and deleted documents never return",
        `${who} read ${path} at v${version}: owner ${entry.docs.owner} saw {${saw}}; the model allows ${entry.docs.describe()}`,
      );
    }
  }
  for (const d of docs) {
    if (!owned.has(d.id) && [...windows.keys()].length > 0 && !d.id.startsWith("c")) {
      world.violate("no document appears that nobody wrote", `${who} read ${path} at v${version}: unexpected document ${d.id}`);
    }
  }
  checkSnapshot(world, who, path, version, docs);
}

/** Reads of the plain-write documents at one version agree (compaction and recovery change no version's reads). */
export function checkSnapshot(world: SimWorld, who: string, path: string, version: number, docs: readonly StoredDocument[]): void {
  const text = [...observe(docs, "k").entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([id, r]) => `${id}=${rowKey(r)}`)
    .join(" ");
  let byVersion = world.snapshots.get(path);
  if (byVersion === undefined) world.snapshots.set(path, (byVersion = new Map()));
  const before = byVersion.get(version);
  if (before === undefined) {
    byVersion.set(version, text);
    return;
  }
  if (before !== text) {
    world.violate("reads at one version return the same documents", `${who} read ${path} at v${version}: {${text}}, earlier {${before}}`);
  }
}

/** The bank invariant on a strong read. */
export function checkBank(world: SimWorld, who: string, version: number, docs: readonly StoredDocument[]): void {
  const byId = new Map(docs.map((d) => [d.id, d]));
  let sum = 0;
  const problems: string[] = [];
  for (const coin of COINS) {
    const d = byId.get(coin.id);
    if (d === undefined) {
      problems.push(`${coin.id} missing`);
      continue;
    }
    const value = d.attributes?.["value"];
    const holder = d.attributes?.["holder"];
    if (value !== coin.value) problems.push(`${coin.id} value ${String(value)}`);
    if (typeof holder !== "string" || !(HOLDERS as readonly string[]).includes(holder)) problems.push(`${coin.id} holder ${String(holder)}`);
    if (typeof value === "number") sum += value;
  }
  if (docs.length !== COINS.length) problems.push(`${docs.length} documents`);
  if (problems.length > 0 || sum !== BANK_TOTAL) {
    world.violate("bank: every coin exactly once, sum conserved", `${who} read bank at v${version}: sum ${sum}/${BANK_TOTAL}; ${problems.join(", ")}`);
  }
}

export { rowOf };
