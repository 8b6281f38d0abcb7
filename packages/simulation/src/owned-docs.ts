/**
 * OwnedDocs: the auditor's model of a set of documents that one actor owns
 * (only that actor writes them, one operation at a time).
 *
 * The model is a set of possible worlds. An acknowledged operation applies
 * in every world; an operation that failed with an unknown outcome (a lost
 * answer, a crash) splits each world in two, applied atomically or not at
 * all; a definite failure (VersionConflict, DocumentNotFound, InvalidArgument)
 * changes nothing. Worlds are deduplicated by content, and every read
 * prunes them to the ones it is consistent with.
 *
 * A row is named by the operations that made it: `w` the upsert, `p` the
 * last patch, `g` its group attribute; documents carry those as attributes,
 * so a read tells exactly which write produced what it sees.
 *
 * Special cases:
 * - idempotency keys: a world records the keys of unknown-outcome writes it
 *   applied; a retry with the key is a no-op in those worlds (deduplicated)
 *   and applies in the others; `deduplicated` in the answer prunes.
 * - deleteByFilter with an unknown outcome: once its INTENT doc exists,
 *   recovery will finish it later, possibly after later operations of the
 *   owner. Its targets are row versions, so it can only delete a document
 *   whose current row is still the one it targeted. Until a recovery has
 *   run it is `pending`: a read may see any of its targets deleted or not;
 *   after recovery it is all-or-nothing (nothing only if no read saw one of
 *   its tombstones).
 */

export interface Row {
  readonly w: string;
  readonly p: string | null;
  readonly g: string | null;
}

export function rowKey(row: Row): string {
  return `${row.w}|${row.p ?? ""}|${row.g ?? ""}`;
}

interface Pending {
  readonly op: string;
  /** id -> rowKey targeted. */
  readonly targets: ReadonlyMap<string, string>;
  /** A read saw one of its tombstones: it did land (so recovery completes it). */
  readonly landed: boolean;
}

export interface World {
  readonly docs: ReadonlyMap<string, Row>;
  readonly tags: ReadonlySet<string>;
  readonly pending: readonly Pending[];
}

export type ModelOp =
  | { readonly kind: "upsert"; readonly op: string; readonly docs: readonly { id: string; row: Row }[]; readonly key?: string | undefined }
  | { readonly kind: "patch"; readonly op: string; readonly ids: readonly string[]; readonly key?: string | undefined }
  | { readonly kind: "delete"; readonly op: string; readonly ids: readonly string[]; readonly key?: string | undefined }
  | { readonly kind: "deleteByFilter"; readonly op: string; readonly group: string }
  /** The namespace was deleted (and maybe created again): every document is gone. */
  | { readonly kind: "clear"; readonly op: string };

export type OpStatus =
  | { readonly kind: "pending" }
  | { readonly kind: "acked"; readonly version: number; readonly deduplicated?: boolean }
  | { readonly kind: "unknown" }
  | { readonly kind: "failed" };

export interface TrackedOp {
  readonly model: ModelOp;
  status: OpStatus;
}

/** How an operation counts for one fold. */
type Mode = "apply" | "maybe" | "skip";

function worldKey(w: World): string {
  const docs = [...w.docs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([id, r]) => `${id}=${rowKey(r)}`);
  const tags = [...w.tags].sort();
  const pending = w.pending.map((p) => `${p.op}${p.landed ? "!" : ""}`);
  return `${docs.join(",")}#${tags.join(",")}#${pending.join(",")}`;
}

export const EMPTY_WORLD: World = { docs: new Map(), tags: new Set(), pending: [] };

/** A world plus the index (in the fold's input) of the world it came from. */
interface Traced {
  readonly world: World;
  readonly origin: number;
}

function effect(world: World, op: ModelOp): World | undefined {
  const docs = new Map(world.docs);
  switch (op.kind) {
    case "upsert":
      for (const d of op.docs) docs.set(d.id, d.row);
      break;
    case "patch":
      for (const id of op.ids) {
        const row = docs.get(id);
        if (row === undefined) return undefined; // DocumentNotFound: the write cannot have applied here
        docs.set(id, { ...row, p: op.op });
      }
      break;
    case "delete":
      for (const id of op.ids) docs.delete(id);
      break;
    case "deleteByFilter":
      for (const [id, row] of world.docs) if (row.g === op.group) docs.delete(id);
      break;
    case "clear":
      return { docs: new Map(), tags: world.tags, pending: [] };
  }
  return { docs, tags: world.tags, pending: world.pending };
}

/** The worlds after `op` in `world` under `mode`. */
function step(world: World, op: TrackedOp, mode: Mode): World[] {
  const m = op.model;
  if (mode === "skip") return [world];
  const key = "key" in m ? m.key : undefined;
  if (key !== undefined && world.tags.has(key)) {
    // An earlier attempt with this key landed: this one is deduplicated.
    if (op.status.kind === "acked" && op.status.deduplicated === false) return [];
    return [world];
  }
  if (op.status.kind === "acked" && op.status.deduplicated === true) return [];
  if (m.kind === "deleteByFilter" && mode === "maybe") {
    const targets = new Map<string, string>();
    for (const [id, row] of world.docs) if (row.g === m.group) targets.set(id, rowKey(row));
    if (targets.size === 0) return [world];
    return [world, { ...world, pending: [...world.pending, { op: m.op, targets, landed: false }] }];
  }
  const next = effect(world, m);
  const applied = next === undefined ? undefined : key === undefined ? next : { ...next, tags: new Set([...next.tags, key]) };
  if (mode === "apply") return applied === undefined ? [] : [applied];
  return applied === undefined ? [world] : [world, applied];
}

function dedupe(traced: Traced[]): Traced[] {
  const seen = new Set<string>();
  const out: Traced[] = [];
  for (const t of traced) {
    const k = `${t.origin}@${worldKey(t.world)}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(t);
  }
  return out;
}

/** Longest world list before the model gives up on precision (an audit-side limit, never a violation). */
export const MAX_WORLDS = 4_096;

function fold(start: readonly World[], ops: readonly TrackedOp[], modeOf: (op: TrackedOp) => Mode): Traced[] {
  let traced: Traced[] = start.map((world, origin) => ({ world, origin }));
  for (const op of ops) {
    const mode = modeOf(op);
    traced = dedupe(traced.flatMap((t) => step(t.world, op, mode).map((world) => ({ world, origin: t.origin }))));
    if (traced.length > MAX_WORLDS) throw new ModelOverflowError(traced.length);
  }
  return traced;
}

export class ModelOverflowError extends Error {
  constructor(count: number) {
    super(`model overflow: ${count} possible worlds`);
  }
}

/** The mode of a settled op in the owner's running history. */
function settledMode(op: TrackedOp): Mode {
  switch (op.status.kind) {
    case "acked":
      return "apply";
    case "failed":
      return "skip";
    default:
      return "maybe";
  }
}

/** An observation: the owner's documents a read returned (absent ids are deleted). */
export type Observation = ReadonlyMap<string, Row>;

export interface ReadWindow {
  /** Ops settled when the read started. */
  readonly startIndex: number;
}

/** Reads in flight: the model keeps the worlds their windows start from. */
type OpenWindows = Set<ReadWindow>;

export class OwnedDocs {
  readonly owner: string;
  /** Worlds after ops[0, baseIndex). */
  #base: World[] = [EMPTY_WORLD];
  #baseIndex = 0;
  readonly ops: TrackedOp[] = [];
  /** Ids this owner has ever written (a read must report each as present or absent). */
  readonly ids = new Set<string>();
  readonly #open: OpenWindows = new Set();

  constructor(owner: string) {
    this.owner = owner;
  }

  /** Starts tracking an operation (before it is issued). */
  begin(model: ModelOp): TrackedOp {
    const op: TrackedOp = { model, status: { kind: "pending" } };
    if (model.kind === "upsert") for (const d of model.docs) this.ids.add(d.id);
    this.ops.push(op);
    return op;
  }

  /** Number of ops whose outcome is known (the owner runs one at a time, so a prefix). */
  settledCount(): number {
    let n = 0;
    while (n < this.ops.length && (this.ops[n] as TrackedOp).status.kind !== "pending") n++;
    return n;
  }

  /** The possible worlds after the first `index` ops. */
  worldsAt(index: number): World[] {
    return fold(this.#base, this.ops.slice(this.#baseIndex, index), settledMode).map((t) => t.world);
  }

  /** The possible worlds now (pending ops counted as maybe). */
  worlds(): World[] {
    return this.worldsAt(this.ops.length);
  }

  startRead(): ReadWindow {
    const window = { startIndex: Math.max(this.#baseIndex, this.settledCount()) };
    this.#open.add(window);
    return window;
  }

  /** Forgets a read that failed. */
  release(window: ReadWindow): void {
    this.#open.delete(window);
  }

  /** The base may move to `index` only if no open read started before it. */
  #canRebase(index: number): boolean {
    for (const w of this.#open) if (w.startIndex < index) return false;
    return true;
  }

  /**
   * Checks a read at manifest `version` that started at `window`: true when
   * some possible world explains it. Ops settled before the start must be
   * visible; ops during the read are visible iff acknowledged at a version
   * <= `version` (deleteByFilter: may be, since tombstones are shared by all
   * versions), else maybe. On success the model is pruned to what the read
   * allows. Strong reads only (a stale read cannot be explained by `worldsAt`).
   */
  check(window: ReadWindow, version: number, seen: Observation): boolean {
    this.#open.delete(window);
    const startIndex = window.startIndex;
    if (startIndex < this.#baseIndex) throw new Error(`read window ${startIndex} before the model base ${this.#baseIndex}`);
    const start = this.worldsAt(startIndex);
    const during = this.ops.slice(startIndex);
    const candidates = fold(start, during, (op) => {
      const s = op.status;
      if (s.kind === "failed") return "skip";
      if (s.kind === "acked") {
        if (s.version <= version) return "apply";
        return op.model.kind === "deleteByFilter" ? "maybe" : "skip";
      }
      return "maybe";
    });
    const matched: Traced[] = [];
    for (const t of candidates) {
      const m = matches(t.world, seen, this.ids);
      if (m !== undefined) matched.push({ world: m, origin: t.origin });
    }
    if (matched.length === 0) return false;
    if (!this.#canRebase(startIndex)) return true;
    const origins = new Set(matched.map((t) => t.origin));
    if (during.length === 0) {
      // Nothing of the owner ran during the read: what it saw is the state now.
      this.#base = dedupe(matched.map((t) => ({ world: t.world, origin: 0 }))).map((t) => t.world);
    } else {
      this.#base = start.filter((_, i) => origins.has(i));
    }
    this.#baseIndex = startIndex;
    return true;
  }

  /**
   * A recovery of the namespace completed after every op so far settled
   * (and the owner has none in flight): every pending deleteByFilter either
   * completed or never had an INTENT (only if no read saw it land).
   */
  recovered(): void {
    if (this.settledCount() !== this.ops.length || !this.#canRebase(this.ops.length)) return;
    const worlds = this.worlds();
    const out: World[] = [];
    for (const w of worlds) {
      let variants: World[] = [{ ...w, pending: [] }];
      for (const p of w.pending) {
        const next: World[] = [];
        for (const v of variants) {
          const docs = new Map(v.docs);
          for (const [id, key] of p.targets) {
            const row = docs.get(id);
            if (row !== undefined && rowKey(row) === key) docs.delete(id);
          }
          next.push({ ...v, docs });
          if (!p.landed) next.push(v);
        }
        variants = next;
      }
      out.push(...variants);
    }
    this.#base = dedupe(out.map((world) => ({ world, origin: 0 }))).map((t) => t.world);
    this.#baseIndex = this.ops.length;
  }

  /** Forgets idempotency tags of `key` (its writer is done with it). */
  dropTag(key: string): void {
    if (this.settledCount() !== this.ops.length || !this.#canRebase(this.ops.length)) return;
    const worlds = this.worlds().map((w) => {
      if (!w.tags.has(key)) return w;
      const tags = new Set(w.tags);
      tags.delete(key);
      return { ...w, tags };
    });
    this.#base = dedupe(worlds.map((world) => ({ world, origin: 0 }))).map((t) => t.world);
    this.#baseIndex = this.ops.length;
  }

  /** Describes the possible states of `ids` (for failure reports). */
  describe(limit = 4): string {
    const worlds = this.worlds().slice(0, limit);
    return worlds
      .map((w) => `{${[...w.docs.entries()].map(([id, r]) => `${id}=${rowKey(r)}`).join(" ")}${w.pending.length > 0 ? ` pending:${w.pending.map((p) => p.op).join(",")}` : ""}}`)
      .join(" | ");
  }
}

/**
 * The world as refined by `seen`, or undefined when `seen` contradicts it:
 * every owned id is present with the same row, or absent where the world
 * has it absent or a pending deleteByFilter targets exactly its row (then
 * that tombstone is materialized and the pending op marked landed).
 */
function matches(world: World, seen: Observation, ids: ReadonlySet<string>): World | undefined {
  let docs: Map<string, Row> | undefined;
  let pending = world.pending;
  for (const id of ids) {
    const want = world.docs.get(id);
    const got = seen.get(id);
    if (want === undefined && got === undefined) continue;
    if (want !== undefined && got !== undefined) {
      if (rowKey(want) === rowKey(got)) continue;
      return undefined;
    }
    if (want === undefined) return undefined;
    const key = rowKey(want);
    const hit = pending.find((p) => p.targets.get(id) === key);
    if (hit === undefined) return undefined;
    docs ??= new Map(world.docs);
    docs.delete(id);
    if (!hit.landed) pending = pending.map((p) => (p === hit ? { ...p, landed: true } : p));
  }
  for (const id of seen.keys()) if (!ids.has(id)) return undefined;
  return docs === undefined && pending === world.pending ? world : { docs: docs ?? new Map(world.docs), tags: world.tags, pending };
}
