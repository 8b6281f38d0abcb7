/**
 * NamespaceWrites: the engine's write calls. `upsert`, `patch`, `delete`
 * and `write` (all three kinds in one atomic commit, with per-document
 * conditions evaluated at commit) are validated, encoded against the schema
 * this engine last saw of the namespace and group-committed (WriteCommitter);
 * `deleteByFilter` and `patchByFilter` run through the wal-engine pipeline
 * (predicate-mutation.ts) after the namespace is opened (recovered).
 *
 * A write refused at commit for its schema after the schema changed since
 * the encoding is encoded again, once. After each write `afterWrite` runs
 * (the engine schedules a background compaction when one is due).
 */
import type { IdGenerator, NamespaceSchema } from "@skerry/wal-format";
import { type Filter, parseQueryRequest } from "@skerry/query";
import { InvalidArgumentError, type NamespacePath, SchemaViolationError } from "../core/index.ts";
import type { EngineContext } from "../manifest/index.ts";
import type { NamespaceWals } from "../mutation/index.ts";
import type { DocumentId, DocumentInput, DocumentPatch } from "../namespace/index.ts";
import { deleteByFilter, type DeleteByFilterResult, type MutationDependencies, patchByFilter, type PatchByFilterResult, type PredicateMutationOptions } from "./predicate-mutation.ts";
import type { WriteCommitter } from "./write-committer.ts";
import { type BatchWriteResult, MAX_IDEMPOTENCY_KEY_LENGTH, type WriteOptions, type WriteResult } from "./write-options.ts";
import { encodeBatch, encodeDelete, type EncodedWrite, encodePatch, encodeUpsert, type WriteBatch, type WriteLimits } from "./write-request.ts";

/** A filter: the query module's parsed `Filter`, or its JSON tuple form (`["status", "Eq", "stale"]`). */
export type FilterInput = Filter | readonly unknown[];

export interface WritesDependencies {
  readonly ctx: EngineContext;
  readonly committer: WriteCommitter;
  readonly wals: NamespaceWals;
  readonly ids: IdGenerator;
  readonly limits: WriteLimits;
  /** Recovers the namespace once per engine before its first predicate mutation. */
  readonly open: (p: NamespacePath) => Promise<void>;
  /** Finishes pending compactions of the namespace (a predicate mutation's target stays sealed). */
  readonly finishCompactions: (p: NamespacePath) => Promise<unknown>;
  /** Runs after each write committed. */
  readonly afterWrite: (p: NamespacePath) => void;
}

export class NamespaceWrites {
  readonly #deps: WritesDependencies;

  constructor(deps: WritesDependencies) {
    this.#deps = deps;
  }

  upsert(p: NamespacePath, docs: readonly DocumentInput<DocumentId>[], options: WriteOptions): Promise<WriteResult> {
    return this.#submit(p, options, (schema) => encodeUpsert(docs, this.#deps.ids, this.#deps.limits, schema));
  }

  patch(p: NamespacePath, patches: readonly DocumentPatch<DocumentId>[], options: WriteOptions): Promise<WriteResult> {
    return this.#submit(p, options, (schema) => encodePatch(patches, this.#deps.ids, this.#deps.limits, schema));
  }

  delete(p: NamespacePath, ids: readonly DocumentId[], options: WriteOptions): Promise<WriteResult> {
    return this.#submit(p, options, (schema) => encodeDelete(ids, this.#deps.limits, schema));
  }

  async write(p: NamespacePath, batch: WriteBatch, options: WriteOptions): Promise<BatchWriteResult> {
    const result = await this.#submit(p, options, (schema) => encodeBatch(batch, this.#deps.ids, this.#deps.limits, schema));
    return result as BatchWriteResult;
  }

  async deleteByFilter(p: NamespacePath, filter: FilterInput, options: PredicateMutationOptions): Promise<DeleteByFilterResult> {
    const parsed = toFilter(filter);
    validateWriteOptions(options);
    await this.#deps.open(p);
    return deleteByFilter(this.#mutationDeps(p), p, parsed, options);
  }

  async patchByFilter(p: NamespacePath, filter: FilterInput, patch: Omit<DocumentPatch, "id">, options: PredicateMutationOptions): Promise<PatchByFilterResult> {
    const parsed = toFilter(filter);
    validateWriteOptions(options);
    await this.#deps.open(p);
    return patchByFilter(this.#mutationDeps(p), p, parsed, patch, options);
  }

  async #submit(p: NamespacePath, options: WriteOptions, encode: (schema: NamespaceSchema | undefined) => EncodedWrite): Promise<WriteResult> {
    const { committer } = this.#deps;
    const { manifests } = this.#deps.ctx;
    validateWriteOptions(options);
    const seen = (manifests.cached(p) ?? (await manifests.readLatest(p)))?.schema;
    let result: WriteResult;
    try {
      result = await committer.submit(p, encode(seen), options.ifVersion, options.idempotencyKey);
    } catch (error) {
      const now = manifests.cached(p)?.schema;
      if (!(error instanceof SchemaViolationError) || now === seen) throw error;
      result = await committer.submit(p, encode(now), options.ifVersion, options.idempotencyKey);
    }
    this.#deps.afterWrite(p);
    return result;
  }

  #mutationDeps(p: NamespacePath): MutationDependencies {
    const { ctx, wals, limits } = this.#deps;
    return { ctx, wal: wals.for(p), limits, maxTargets: wals.settings.maxTargets, finishCompactions: () => this.#deps.finishCompactions(p) };
  }
}

/** `ifVersion` and `idempotencyKey`, as every write and metadata commit takes them. */
export function validateWriteOptions(options: WriteOptions): void {
  const { ifVersion, idempotencyKey } = options;
  if (ifVersion !== undefined && (!Number.isSafeInteger(ifVersion) || ifVersion < 1)) {
    throw new InvalidArgumentError(`ifVersion must be a positive integer; got ${String(ifVersion)}`);
  }
  if (
    idempotencyKey !== undefined &&
    (typeof idempotencyKey !== "string" || idempotencyKey.length < 1 || idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH)
  ) {
    throw new InvalidArgumentError(`idempotencyKey must be a string of 1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
}

function toFilter(input: FilterInput): Filter {
  if (Array.isArray(input)) {
    const parsed = parseQueryRequest({ filters: input, topK: 1 }).filters;
    if (parsed === undefined) throw new InvalidArgumentError("filter is required");
    return parsed;
  }
  if (typeof input !== "object" || input === null || typeof (input as { kind?: unknown }).kind !== "string") {
    throw new InvalidArgumentError("filter must be a parsed Filter or a filter tuple");
  }
  return input as Filter;
}
