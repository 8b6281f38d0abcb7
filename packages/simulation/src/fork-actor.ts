/**
 * ForkActor (b0, the brancher and copier): branches and copies kv (at its
 * latest version or at a version read before), writes its own documents
 * into its forks (`x<n>_<i>`, fresh ids, upserts and deletes), reads them
 * through its faulty process, and deletes forks; at most three at a time.
 *
 * The model of a fork: its inherited documents are exactly kv's at the
 * source version, frozen (the baseline, taken by the auditor once the fork
 * exists and compared with kv read at that version), plus the brancher's
 * own documents in the states its acknowledged operations left them
 * (present, absent, or unknown after an unknown outcome). So a fork never
 * sees kv's later writes, nor another fork's, nor kv a fork's.
 */
import { isNamespaceNotFound, isVersionNotFound, type NamespaceEngine, type StoredDocument } from "@skerry/namespace-engine";
import { manifestKey, manifestPrefix, manifestVersionOf, parseNamespacePath } from "@skerry/namespace-engine";
import { Actor, track } from "./actor.ts";
import { classify, errorText } from "./observation.ts";
import { SIM_RETENTION } from "./sim-process.ts";
import { KV, ORG, PROJECT, type SimWorld } from "./sim-world.ts";

export type ForkStatus = "maybe" | "new" | "live" | "deleting" | "gone";
type OwnState = "present" | "absent" | "unknown";

export interface ForkState {
  readonly path: string;
  readonly name: string;
  readonly mode: "branch" | "copy";
  /** Prefix of the brancher's own documents in this fork. */
  readonly prefix: string;
  /** Requested source version (undefined: the latest). */
  readonly atVersion: number | undefined;
  status: ForkStatus;
  /** An operation of the brancher on this fork is in flight (the auditor leaves "maybe"/"new" forks alone meanwhile). */
  inflight: boolean;
  /** Inherited documents (id -> canonical form), fixed once the fork exists. */
  baseline: Map<string, string> | undefined;
  readonly own: Map<string, OwnState>;
  next: number;
  deletedAcked: boolean;
}

const MAX_FORKS = 3;

/** A document in a canonical form (attribute keys sorted), for exact comparison. */
export function canonical(doc: StoredDocument): string {
  const a = doc.attributes ?? {};
  const attributes = Object.fromEntries(Object.keys(a).sort().map((k) => [k, a[k]]));
  return JSON.stringify({ id: doc.id, attributes, text: doc.text ?? null, vector: doc.vector === undefined ? null : Array.from(doc.vector) });
}

export class ForkActor extends Actor {
  readonly weight = 2;
  #count = 0;

  async run(world: SimWorld): Promise<void> {
    const r = this.random;
    const forks = [...world.forks.values()];
    const deleting = forks.find((f) => f.status === "deleting");
    if (deleting !== undefined) return this.#delete(world, deleting);
    const live = forks.filter((f) => f.status === "live");
    const active = forks.filter((f) => f.status !== "gone").length;
    const roll = r.float();
    if (live.length === 0 || roll < 0.25) {
      if (active < MAX_FORKS) await this.#create(world);
      return;
    }
    const fork = r.pick(live);
    if (roll < 0.7) await this.#write(world, fork);
    else if (roll < 0.85) await this.#read(world, fork);
    else await this.#delete(world, fork);
  }

  async #create(world: SimWorld): Promise<void> {
    const r = this.random;
    const engine = world.process(this.processName).engine;
    const mode = r.chance(0.6) ? "branch" : "copy";
    const n = ++this.#count;
    const name = `${mode === "branch" ? "fb" : "fc"}${n}`;
    const path = `${ORG}/${PROJECT}/${name}`;
    const versions = [...(world.snapshots.get(KV)?.keys() ?? [])];
    const atVersion = versions.length > 0 && r.chance(0.4) ? r.pick(versions) : undefined;
    const fork: ForkState = { path, name, mode, prefix: `x${n}_`, atVersion, status: "maybe", inflight: true, baseline: undefined, own: new Map(), next: 0, deletedAcked: false };
    world.forks.set(path, fork);
    let expired = false;
    const t = await track(
      world,
      this,
      `${mode} ${KV}${atVersion === undefined ? "" : ` v${atVersion}`} -> ${name}`,
      path,
      async () => {
        try {
          const options = { atVersion };
          return await (mode === "branch" ? engine.branchNamespace(KV, path, options) : engine.copyNamespace(KV, path, options));
        } catch (error) {
          if (atVersion === undefined || !isVersionNotFound(error)) throw error;
          expired = true;
          return undefined;
        }
      },
      (v) => v?.version,
    );
    fork.inflight = false;
    if (expired) {
      await checkExpired(world, this.name, KV, atVersion as number);
      fork.status = "maybe"; // nothing was created; the auditor confirms
      return;
    }
    // Acknowledged: it exists (the auditor takes its baseline). Otherwise the auditor finds out.
    fork.status = t.status.kind === "acked" ? "new" : "maybe";
  }

  async #write(world: SimWorld, fork: ForkState): Promise<void> {
    const r = this.random;
    const engine = world.process(this.processName).engine;
    const op = this.nextOpId();
    const known = [...fork.own.entries()].filter(([, s]) => s !== "absent").map(([id]) => id);
    const del = known.length > 0 && r.chance(0.3);
    const ids = del ? [r.pick(known)] : Array.from({ length: r.int(1, 2) }, () => `${fork.prefix}${fork.next++}`);
    const before = new Map(ids.map((id) => [id, fork.own.get(id) ?? ("absent" as OwnState)]));
    for (const id of ids) fork.own.set(id, "unknown");
    fork.inflight = true;
    const t = await track(
      world,
      this,
      `${del ? "delete" : "upsert"} ${ids.join(",")} in ${fork.name}`,
      fork.path,
      () => (del ? engine.delete(fork.path, ids) : engine.upsert(fork.path, ids.map((id) => ({ id, attributes: { w: op } })))),
      (v) => v.version,
    );
    fork.inflight = false;
    for (const id of ids) {
      if (t.status.kind === "acked") fork.own.set(id, del ? "absent" : "present");
      else if (t.status.kind === "failed") fork.own.set(id, before.get(id) as OwnState);
    }
    if (t.error !== undefined && isNamespaceNotFound(t.error)) {
      world.violate("a live branch stays writable", `${this.name} write to ${fork.name} failed NamespaceNotFound`);
    }
  }

  async #read(world: SimWorld, fork: ForkState): Promise<void> {
    const proc = world.process(this.processName);
    world.log(`${this.name}@${proc.name}#${proc.incarnation} read strong ${fork.name}`);
    try {
      const { documents, version } = await proc.engine.scan(fork.path, { limit: 10_000 });
      world.log(`${this.name} read ${fork.name} -> ok v${version} (${documents.length} docs)`);
      checkFork(world, this.name, fork, documents);
    } catch (error) {
      world.log(`${this.name} read ${fork.name} -> error ${errorText(error).slice(0, 160)}`);
      if (isNamespaceNotFound(error)) world.violate("a live branch stays readable", `${this.name} read of ${fork.name} failed NamespaceNotFound`);
      else if (classify(error) === "unexpected") world.violate("no unexpected errors", `${this.name} read ${fork.name}: ${errorText(error)}`);
    }
  }

  async #delete(world: SimWorld, fork: ForkState): Promise<void> {
    const engine = world.process(this.processName).engine;
    const retry = fork.status === "deleting";
    fork.inflight = true;
    const t = await track(world, this, `deleteNamespace ${fork.name}`, fork.path, () => engine.deleteNamespace(fork.path), (v) => v.version);
    fork.inflight = false;
    if (t.status.kind === "acked") {
      fork.status = "gone";
      fork.deletedAcked = true;
    } else if (t.status.kind === "unknown") {
      fork.status = "deleting";
    } else if (t.error !== undefined && isNamespaceNotFound(t.error)) {
      if (!retry) world.violate("a live branch stays deletable", `${this.name} delete of live ${fork.name} failed NamespaceNotFound`);
      fork.status = "gone";
      fork.deletedAcked = true;
    }
  }
}

/** A read of `fork` against its model: the baseline exactly, its own documents as acknowledged, nothing else. */
export function checkFork(world: SimWorld, who: string, fork: ForkState, docs: readonly StoredDocument[]): void {
  const baseline = fork.baseline;
  if (baseline === undefined) return;
  const seen = new Map(docs.map((d) => [d.id, canonical(d)]));
  for (const [id, doc] of seen) {
    const inherited = baseline.get(id);
    if (inherited !== undefined) {
      if (inherited !== doc) world.violate("a branch keeps its source's documents as of the branch version", `${who} read ${fork.name}: ${doc}, baseline ${inherited}`);
    } else if (id.startsWith(fork.prefix)) {
      const state = fork.own.get(id);
      if (state === undefined || state === "absent") world.violate("a branch shows only its own acknowledged writes", `${who} read ${fork.name}: ${id} is ${state ?? "never written"} but visible`);
    } else {
      world.violate("branches never see each other's writes (nor their source's later writes)", `${who} read ${fork.name}: unexpected ${doc}`);
    }
  }
  for (const id of baseline.keys()) {
    if (!seen.has(id)) world.violate("a branch keeps its source's documents as of the branch version", `${who} read ${fork.name}: inherited ${id} is missing`);
  }
  for (const [id, state] of fork.own) {
    if (state === "present" && !seen.has(id)) world.violate("every acknowledged write to a branch is visible", `${who} read ${fork.name}: ${id} is missing`);
  }
}

/**
 * An `atVersion` read (or fork) got VersionNotFound: acceptable for an expired version only, i.e. its
 * manifest is gone from the store and it is older than the newest `keepVersions` (retention keeps those).
 */
export async function checkExpired(world: SimWorld, who: string, path: string, version: number): Promise<void> {
  const p = parseNamespacePath(path);
  const stored = await world.auditStore.head(manifestKey(p, version));
  let latest = 0;
  for await (const meta of world.auditStore.list(manifestPrefix(p), { pageSize: 1 })) {
    latest = manifestVersionOf(p, meta.key) ?? 0;
    break;
  }
  const keep = world.asFound ? 16 : SIM_RETENTION.keepVersions;
  if (stored !== null) world.violate("VersionNotFound only for expired versions", `${who}: ${path} v${version} is still stored`);
  else if (version > latest - keep) world.violate("retention keeps the newest versions", `${who}: ${path} v${version} expired though the latest is v${latest} (keepVersions ${keep})`);
  else world.log(`${who}: ${path} v${version} expired (latest v${latest})`);
}

/** The auditor's side of forks (driver-side, fault-free): baselines of new forks, then one fork read per step. */
export async function auditForks(world: SimWorld, auditor: NamespaceEngine, step: number): Promise<void> {
  for (const fork of world.forks.values()) {
    if (fork.inflight || (fork.status !== "new" && fork.status !== "maybe")) continue;
    await establish(world, auditor, fork);
  }
  const checked = [...world.forks.values()].filter((f) => !f.inflight && (f.status === "live" || (f.status === "gone" && f.deletedAcked)));
  if (checked.length === 0) return;
  const fork = checked[step % checked.length] as ForkState;
  await readFork(world, auditor, "auditor", fork);
}

export async function readFork(world: SimWorld, engine: NamespaceEngine, who: string, fork: ForkState): Promise<void> {
  try {
    const { documents } = await engine.scan(fork.path, { limit: 10_000 });
    if (fork.status === "gone") world.violate("a deleted namespace is not readable", `${who} read deleted ${fork.name}`);
    else checkFork(world, who, fork, documents);
  } catch (error) {
    if (isNamespaceNotFound(error) && fork.status === "gone") return;
    world.violate(isNamespaceNotFound(error) ? "a live branch stays readable" : "no unexpected errors", `${who} read ${fork.name}: ${errorText(error)}`);
  }
}

async function establish(world: SimWorld, auditor: NamespaceEngine, fork: ForkState): Promise<void> {
  let manifest: Awaited<ReturnType<NamespaceEngine["manifest"]>>;
  try {
    manifest = await auditor.manifest(fork.path);
  } catch (error) {
    if (!isNamespaceNotFound(error)) return world.violate("no unexpected errors", `auditor manifest ${fork.name}: ${errorText(error)}`);
    if (fork.status === "new") world.violate("an acknowledged branch exists", `${fork.name} is not found`);
    fork.status = "gone";
    world.log(`auditor: ${fork.name} does not exist`);
    return;
  }
  const copied = manifest.extra?.["copied_from"] as { version?: unknown } | undefined;
  const sourceVersion = fork.mode === "branch" ? manifest.parent?.version : typeof copied?.version === "number" ? copied.version : undefined;
  if (sourceVersion === undefined) return world.violate("a branch records its source", `${fork.name} v${manifest.version} names no source version`);
  if (fork.atVersion !== undefined && sourceVersion !== fork.atVersion) {
    world.violate("a branch is taken at the version asked", `${fork.name} is of v${sourceVersion}, asked v${fork.atVersion}`);
  }
  const own = await auditor.scan(fork.path, { limit: 10_000 });
  const baseline = new Map(own.documents.map((d) => [d.id, canonical(d)]));
  try {
    const source = await auditor.scan(KV, { atVersion: sourceVersion, limit: 10_000 });
    const expected = new Map(source.documents.map((d) => [d.id, canonical(d)]));
    const diff = [...new Set([...expected.keys(), ...baseline.keys()])].filter((id) => expected.get(id) !== baseline.get(id));
    if (diff.length > 0) {
      world.violate(
        "a branch starts as its source at the branch version",
        `${fork.name} v${manifest.version} vs ${KV} v${sourceVersion}: ${diff.slice(0, 4).map((id) => `${id}: ${baseline.get(id) ?? "absent"} / ${expected.get(id) ?? "absent"}`).join("; ")}`,
      );
    }
    world.log(`auditor: ${fork.name} exists (${fork.mode} of ${KV} v${sourceVersion}, ${baseline.size} docs, checked)`);
  } catch (error) {
    if (!isVersionNotFound(error)) return world.violate("no unexpected errors", `auditor read ${KV} v${sourceVersion}: ${errorText(error)}`);
    await checkExpired(world, "auditor", KV, sourceVersion);
    world.log(`auditor: ${fork.name} exists (${fork.mode} of ${KV} v${sourceVersion}, expired since: baseline unchecked)`);
  }
  fork.baseline = baseline;
  fork.status = "live";
}
