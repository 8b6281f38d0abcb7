/**
 * NamespaceLifecycle: creating, describing, listing, reconfiguring, deleting
 * and forking namespaces (the engine's lifecycle calls).
 *
 * - `create`: the registry marker first (a namespace is never live without
 *   being listable), then version 1, or the next version after a deleted
 *   incarnation (whose objects are purged first). NamespaceExists when live.
 * - `info`, `list`, `listPage`: a live namespace's info at a version; a
 *   project's live names (the registry, each confirmed by its manifest).
 * - `updateLabels`, `updateTextFields`, `updateSchema`: one metadata-only
 *   manifest commit each, with `ifVersion`, under the same create-and-rebase
 *   rule as writes. `updateSchema` may declare `uint`/`uuid` ids on a
 *   namespace holding untyped rows only when every live id fits.
 * - `delete`: commits a final version marked deleted, then purges its objects
 *   and older manifests; on a deleted namespace it finishes the purge.
 * - `fork`: branch (shared objects, reference counted) or copy.
 */
import type { DistanceMetric as ManifestMetric, Manifest, } from "@skerry/wal-format";
import { DISTANCE_METRICS, rowId } from "@skerry/wal-format";
import { backoffMs, ConflictError, formatNamespacePath, InvalidArgumentError, NamespaceExistsError, namespaceId, NamespaceNotFoundError, type NamespacePath, randomUuid, registryPrefix, SchemaChangeError, sleep, validatePathPart, VersionConflictError, withRetry } from "../core/index.ts";
import { type EngineContext, type ManifestReads, registerNamespace } from "../manifest/index.ts";
import { type CreateNamespaceOptions, type DeleteNamespaceResult, type DistanceMetric, fitsIdType, type ListingPageOptions, listNamespaceNamesPage, liveNamespaces, mergeSchema, type NamespaceInfo, type NamespaceNamesPage, type NamespaceSchemaInput, type ReadOptions, resolveSchemaInput, resolveTextFields, schemaInfo, type TextFieldOptions, textFieldsRecord } from "../namespace/index.ts";
import { type ForkMode, forkNamespace, purgeNamespace, type RefcountShards } from "../sharing/index.ts";
import type { PinStore, StateCache } from "../state/index.ts";
import { validateWriteOptions } from "../write/index.ts";

const MAX_LABELS = 64;

/** Options of `branchNamespace` and `copyNamespace`. */
export interface ForkNamespaceOptions {
  /** Source version; default the latest. */
  readonly atVersion?: number | undefined;
  /** Labels of the new namespace; default the source's. */
  readonly labels?: Readonly<Record<string, string>> | undefined;
}

export interface LifecycleDependencies {
  readonly ctx: EngineContext;
  readonly reads: ManifestReads;
  readonly shards: RefcountShards;
  readonly pins: PinStore;
}

export class NamespaceLifecycle {
  readonly #ctx: EngineContext;
  readonly #reads: ManifestReads;
  readonly #shards: RefcountShards;
  readonly #pins: PinStore;

  constructor(deps: LifecycleDependencies) {
    this.#ctx = deps.ctx;
    this.#reads = deps.reads;
    this.#shards = deps.shards;
    this.#pins = deps.pins;
  }

  get #states(): StateCache {
    return this.#ctx.states;
  }

  async create(p: NamespacePath, options: CreateNamespaceOptions): Promise<NamespaceInfo> {
    const { manifests, clock, random, retry, storage, conflictBackoff, maxCommitAttempts } = this.#ctx;
    const metric = metricToWire(options.distanceMetric);
    const labels = validateLabels(options.labels);
    const textFields = options.textFields === undefined ? undefined : resolveTextFields(options.textFields);
    const schema = options.schema === undefined ? undefined : mergeSchema(undefined, resolveSchemaInput(options.schema), false);
    const name = formatNamespacePath(p);
    // The registry marker goes first: a namespace is never live without being listable.
    await registerNamespace(storage, retry, random, p);
    return this.#ctx.lanes.run(namespaceId(p), async () => {
      for (let attempt = 1; attempt <= maxCommitAttempts; attempt++) {
        const latest = await manifests.readLatest(p);
        if (latest !== undefined && latest.deletedAt === undefined) throw new NamespaceExistsError(name);
        if (latest !== undefined) await purgeNamespace(this.#ctx, this.#shards, p, latest.version);
        const now = clock.now();
        const manifest: Manifest = {
          schemaVersion: 1,
          namespace: name,
          version: latest === undefined ? 1 : latest.version + 1,
          createdAt: now,
          updatedAt: now,
          vector: { metric },
          ...(textFields === undefined || textFields.size === 0 ? {} : { textFields }),
          ...(schema === undefined ? {} : { schema }),
          containers: [],
          rowIdHighWater: rowId(0n),
          recentWrites: [],
          labels,
          extra: { incarnation: randomUuid(random) },
        };
        if ((await manifests.create(p, manifest)) === "created") {
          this.#states.invalidate(p);
          return this.info(p, manifest, 0);
        }
        await sleep(backoffMs(conflictBackoff, attempt, random), conflictBackoff);
      }
      throw new ConflictError(`creating ${name} lost the manifest race ${maxCommitAttempts} times`);
    });
  }

  /** Info about a live namespace at its latest (or a given) version. */
  async get(p: NamespacePath, options: ReadOptions): Promise<NamespaceInfo> {
    // Adopt pins and unpins made by other engines (read at most readStalenessMs ago).
    if ((await this.#pins.list(this.#reads.readStalenessMs)).has(formatNamespacePath(p))) this.#states.pin(p);
    else this.#states.unpin(p);
    return this.#reads.confirmCorrupt(p, async () => {
      const manifest = await this.#reads.read(p, options);
      return this.#infoAt(p, manifest);
    });
  }

  /** Names of the live namespaces of a project, sorted. */
  async list(org: string, project: string): Promise<string[]> {
    validatePathPart(org, "organization");
    validatePathPart(project, "project");
    const prefix = registryPrefix(org, project);
    const { storage, retry, random } = this.#ctx;
    const names = await withRetry(`list ${prefix}`, retry, random, async () => {
      const out: string[] = [];
      for await (const meta of storage.list(prefix)) out.push(meta.key.slice(prefix.length));
      return out;
    });
    const live = await liveNamespaces(this.#ctx, org, project, names);
    return names.filter((_, i) => live[i]).sort();
  }

  listPage(org: string, project: string, options: ListingPageOptions<string>): Promise<NamespaceNamesPage> {
    return listNamespaceNamesPage(this.#ctx, org, project, options);
  }

  async updateLabels(p: NamespacePath, labels: Readonly<Record<string, string>>, options: { ifVersion?: number }): Promise<NamespaceInfo> {
    const next = validateLabels(labels);
    validateWriteOptions(options);
    return this.#infoAt(p, await this.#commitMetadata(p, options.ifVersion, (base) => ({ ...base, labels: next })));
  }

  async updateTextFields(p: NamespacePath, textFields: Readonly<Record<string, TextFieldOptions>>, options: { ifVersion?: number }): Promise<NamespaceInfo> {
    const next = resolveTextFields(textFields);
    validateWriteOptions(options);
    const committed = await this.#commitMetadata(p, options.ifVersion, (base) => {
      const { textFields: _, ...rest } = base;
      return next.size === 0 ? rest : { ...rest, textFields: next };
    });
    return this.#infoAt(p, committed);
  }

  async updateSchema(p: NamespacePath, schema: NamespaceSchemaInput, options: { ifVersion?: number }): Promise<NamespaceInfo> {
    const declared = resolveSchemaInput(schema);
    validateWriteOptions(options);
    const idType = declared.idType;
    for (let attempt = 1; ; attempt++) {
      // Declaring uint or uuid ids on a namespace that holds rows written without an id type: its live ids must
      // all be of that type (checked at one version, committed on that version only).
      let checked: number | undefined;
      if (idType === "uint" || idType === "uuid") {
        const latest = await this.#reads.read(p, {});
        if (latest.schema?.idType === undefined && latest.containers.length > 0) {
          const fit = await this.#states.read(p, latest, (state) => state.sortedIds().every((id) => fitsIdType(id, idType)));
          if (!fit) throw new SchemaChangeError("id", "string (the namespace holds ids of another type)", idType);
          checked = latest.version;
        }
      }
      let moved = false;
      const committed = await this.#commitMetadata(p, options.ifVersion, (base) => {
        if (checked !== undefined && base.version !== checked) moved = true;
        return { ...base, schema: mergeSchema(base.schema, declared, !moved && checked !== undefined ? false : base.containers.length > 0 && base.schema?.idType === undefined) };
      }).catch((error: unknown) => {
        if (moved && error instanceof SchemaChangeError && attempt < this.#ctx.maxCommitAttempts) return undefined;
        throw error;
      });
      if (committed === undefined) continue; // rows were written after the check: check again
      return this.#infoAt(p, committed);
    }
  }

  async delete(p: NamespacePath): Promise<DeleteNamespaceResult> {
    const { manifests, clock, random, conflictBackoff, maxCommitAttempts } = this.#ctx;
    const name = formatNamespacePath(p);
    return this.#ctx.lanes.run(namespaceId(p), async () => {
      for (let attempt = 1; attempt <= maxCommitAttempts; attempt++) {
        const latest = await manifests.readLatest(p);
        if (latest === undefined) throw new NamespaceNotFoundError(name);
        if (latest.deletedAt !== undefined) {
          const objectsDeleted = await purgeNamespace(this.#ctx, this.#shards, p, latest.version);
          this.#states.invalidate(p);
          return { version: latest.version, alreadyDeleted: true, objectsDeleted };
        }
        const now = clock.now();
        const final: Manifest = { ...latest, version: latest.version + 1, updatedAt: now, deletedAt: now, containers: [], recentWrites: [] };
        if ((await manifests.create(p, final)) === "created") {
          this.#states.invalidate(p);
          const objectsDeleted = await purgeNamespace(this.#ctx, this.#shards, p, final.version);
          return { version: final.version, alreadyDeleted: false, objectsDeleted };
        }
        await sleep(backoffMs(conflictBackoff, attempt, random), conflictBackoff);
      }
      throw new ConflictError(`deleting ${name} lost the manifest race ${maxCommitAttempts} times`);
    });
  }

  async fork(source: NamespacePath, target: NamespacePath, mode: ForkMode, options: ForkNamespaceOptions): Promise<NamespaceInfo> {
    const labels = options.labels === undefined ? undefined : validateLabels(options.labels);
    const manifest = await forkNamespace(this.#ctx, this.#shards, source, target, mode, { atVersion: options.atVersion, labels });
    return this.#infoAt(target, manifest);
  }

  /** The info of `p` at `m`, with its document count read from the materialized state. */
  async #infoAt(p: NamespacePath, m: Manifest): Promise<NamespaceInfo> {
    const docCount = await this.#states.read(p, m, (state) => state.size);
    return this.info(p, m, docCount);
  }

  info(p: NamespacePath, m: Manifest, docCount: number): NamespaceInfo {
    let logBatches = 0;
    let segments = 0;
    let bytes = 0;
    for (const c of m.containers) {
      if (c.kind === "LOG_BATCH") logBatches++;
      else segments++;
      bytes += c.byteSize;
    }
    return {
      path: formatNamespacePath(p),
      org: p.org,
      project: p.project,
      namespace: p.namespace,
      version: m.version,
      docCount,
      logBatches,
      segments,
      bytes,
      distanceMetric: (m.vector?.metric ?? "COSINE").toLowerCase() as DistanceMetric,
      vectorDimension: m.vector?.dimension,
      textFields: textFieldsRecord(m.textFields),
      schema: schemaInfo(m.schema),
      parent: m.parent,
      pinned: this.#states.isPinned(p),
      labels: Object.fromEntries(m.labels),
      createdAt: m.createdAt,
      updatedAt: m.updatedAt,
    };
  }

  /** Commits a metadata-only change with the same create-and-rebase rule as writes. */
  async #commitMetadata(p: NamespacePath, ifVersion: number | undefined, change: (base: Manifest) => Manifest): Promise<Manifest> {
    const { manifests, clock, random, conflictBackoff, maxCommitAttempts } = this.#ctx;
    const name = formatNamespacePath(p);
    return this.#ctx.lanes.run(namespaceId(p), async () => {
      for (let attempt = 1; attempt <= maxCommitAttempts; attempt++) {
        const base = await manifests.readLatest(p);
        if (base === undefined || base.deletedAt !== undefined) throw new NamespaceNotFoundError(name);
        if (ifVersion !== undefined && ifVersion !== base.version) throw new VersionConflictError(name, ifVersion, base.version);
        const next: Manifest = { ...change(base), version: base.version + 1, updatedAt: clock.now() };
        if ((await manifests.create(p, next)) === "created") return next;
        await sleep(backoffMs(conflictBackoff, attempt, random), conflictBackoff);
      }
      throw new ConflictError(`commit to ${name} lost the manifest race ${maxCommitAttempts} times`);
    });
  }
}

function metricToWire(metric: DistanceMetric | undefined): ManifestMetric {
  const value = metric ?? "cosine";
  const wire = value.toUpperCase();
  if (typeof value !== "string" || !(DISTANCE_METRICS as readonly string[]).includes(wire)) {
    throw new InvalidArgumentError(`distanceMetric must be one of cosine, dot, euclidean; got ${JSON.stringify(metric)}`);
  }
  return wire as ManifestMetric;
}

function validateLabels(labels: unknown): Map<string, string> {
  if (labels === undefined) return new Map();
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) throw new InvalidArgumentError("labels must be an object of strings");
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) throw new InvalidArgumentError(`at most ${MAX_LABELS} labels; got ${entries.length}`);
  for (const [key, value] of entries) {
    if (key.length < 1 || key.length > 128) throw new InvalidArgumentError(`label keys must be 1-128 characters: ${JSON.stringify(key)}`);
    if (typeof value !== "string" || value.length > 1024) {
      throw new InvalidArgumentError(`label ${JSON.stringify(key)} must be a string of at most 1,024 characters`);
    }
  }
  return new Map(entries as [string, string][]);
}
