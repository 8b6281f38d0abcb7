/**
 * Namespace: a handle on one namespace (`org/project/name`) and every /v1
 * route under it. Making a handle sends nothing; each method is one call
 * (a scan, one call per page).
 *
 * `A` is the type of the documents' attributes: it types the filters,
 * orderings and aggregations of queries and by-filter writes, and the
 * attributes read back (as `Partial<A>`: a query returns the attributes it
 * asked for). The server does not check documents against `A`.
 *
 * Writes by id (`upsert`, `patch`, `delete`) carry an Idempotency-Key, one
 * per call, made by the client's `idempotencyKey()` unless you pass your
 * own (pass your own to deduplicate across process restarts); every retry
 * of the call sends the same key, so the write applies at most once and a
 * retry of a committed write answers `deduplicated: true`.
 */
import type {
  CreateNamespaceOptions,
  DeleteByFilterResult,
  DeleteNamespaceResult,
  Document,
  DocumentInput,
  DocumentPatch,
  ForkOptions,
  GarbageReport,
  GcOptions,
  GetDocumentsResult,
  Labels,
  ManifestView,
  NamespaceInfo,
  OperationReport,
  PatchByFilterResult,
  QueryRequest,
  QueryResult,
  ScanPage,
  UnpinResult,
  VersionsPage,
  WalEntry,
  WalPage,
  TextFieldOptions,
  NamespaceSchemaInput,
  SchemaResult,
  WarmResult,
  WriteBatchResult,
  WriteResult,
  Consistency,
} from "./api-types.ts";
import type { Filter } from "./filter.ts";
import type { Attributes } from "./json.ts";
import { checkPageSize, DEFAULT_LIST_PAGE, type ListOptions, Paginated } from "./paginated.ts";
import { isSkerryError } from "./skerry-error.ts";
import type { CallOptions, Transport } from "./transport.ts";

export interface ReadOptions extends CallOptions {
  /** Read as of this manifest version (see `versions()`); default the latest. */
  readonly atVersion?: number | undefined;
  /** `strong` (default) reads the latest committed version; `eventual` may answer from a cached one. */
  readonly consistency?: Consistency | undefined;
}

export interface VersionsOptions extends ListOptions {
  /** `asc` (default) or `desc`, newest first. A cursor keeps the order it was made in. */
  readonly order?: "asc" | "desc" | undefined;
}

export interface ConditionalOptions extends CallOptions {
  /** Apply only if the namespace is at this version, else SkerryError `VersionConflict` (412). */
  readonly ifVersion?: number | undefined;
}

export interface ByFilterOptions extends ConditionalOptions {
  /** Most documents the mutation may target (at most, and by default, the server's limit); more matching is a 400 unless `allowPartial`. */
  readonly maxTargets?: number | undefined;
  /** When more match: mutate the first `maxTargets` in id order and answer `remaining: true` (send it again for the rest). */
  readonly allowPartial?: boolean | undefined;
}

export interface WriteOptions extends ConditionalOptions {
  /** Your own key for this write (1-256 characters); default a fresh one per call. */
  readonly idempotencyKey?: string | undefined;
}

export interface ScanOptions extends ReadOptions {
  /** Resume after the page whose answer carried this `nextCursor` (at that page's version). Not with `after`. */
  readonly cursor?: string | undefined;
  /** Start after this id. Not with `cursor`. */
  readonly after?: string | undefined;
  /** Documents per page (1-10,000; the server's default 100). */
  readonly pageSize?: number | undefined;
}

/**
 * A write of several kinds committed as ONE version (`Namespace.write`): upserts, then patches, then deletes.
 * A condition is a filter evaluated per document against its current version at the commit; its operands may
 * be `{"$ref_new": "attr"}`, the attribute's value in the document's new version. An upsert of a missing
 * document always applies; patches and deletes of missing documents are skipped.
 */
export interface WriteBatch<A = Attributes> {
  readonly upserts?: readonly DocumentInput<A>[];
  readonly patches?: readonly DocumentPatch<A>[];
  readonly deletes?: readonly string[];
  readonly upsertCondition?: Filter<A> | readonly unknown[];
  readonly patchCondition?: Filter<A> | readonly unknown[];
  readonly deleteCondition?: Filter<A> | readonly unknown[];
}

/** The read methods of a namespace, as of one version (`Namespace.at`). */
export interface NamespaceReader<A = Attributes> {
  info(options?: ReadOptions): Promise<NamespaceInfo>;
  manifest(options?: ReadOptions): Promise<ManifestView>;
  get(ids: readonly string[], options?: ReadOptions): Promise<GetDocumentsResult<A>>;
  document(id: string, options?: ReadOptions): Promise<Document<A> | null>;
  scanPage(options?: ScanOptions): Promise<ScanPage<A>>;
  scan(options?: ScanOptions): AsyncIterableIterator<Document<A>>;
  scanPages(options?: ScanOptions): AsyncIterableIterator<ScanPage<A>>;
  query(request: QueryRequest<A>, options?: ReadOptions): Promise<QueryResult<A>>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Names of orgs, projects and namespaces follow the server's rule; checked here too, since a name like `..` would change the URL's path. */
export function checkName(what: string, name: string): string {
  if (typeof name !== "string" || !NAME.test(name) || name.includes("..")) {
    throw new TypeError(`${what} must be 1-128 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit and without '..'; got ${JSON.stringify(name)}`);
  }
  return name;
}

function calls(options: CallOptions): CallOptions {
  return { signal: options.signal, timeoutMs: options.timeoutMs };
}

function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export class Namespace<A = Attributes> implements NamespaceReader<A> {
  readonly #transport: Transport;
  readonly #newKey: () => string;
  readonly org: string;
  readonly project: string;
  readonly name: string;
  readonly #base: string;

  constructor(transport: Transport, newKey: () => string, org: string, project: string, name: string) {
    this.#transport = transport;
    this.#newKey = newKey;
    this.org = checkName("organization", org);
    this.project = checkName("project", project);
    this.name = checkName("namespace", name);
    this.#base = `/v1/orgs/${encodeURIComponent(org)}/projects/${encodeURIComponent(project)}/namespaces/${encodeURIComponent(name)}`;
  }

  /** `org/project/name`. */
  get path(): string {
    return `${this.org}/${this.project}/${this.name}`;
  }

  // ------------------------------------------------------------ namespace

  /** Creates this namespace (SkerryError `NamespaceExists` if it exists). Not retried after an unknown outcome. */
  create(options: CreateNamespaceOptions & CallOptions = {}): Promise<NamespaceInfo> {
    const body = defined({ name: this.name, distanceMetric: options.distanceMetric, labels: options.labels, textFields: options.textFields, schema: options.schema });
    const path = `/v1/orgs/${encodeURIComponent(this.org)}/projects/${encodeURIComponent(this.project)}/namespaces`;
    return this.#transport.request({ method: "POST", path, body, idempotent: false }, calls(options));
  }

  /** Version, document count, containers, bytes, labels, pinned: at the latest or a given version. */
  info(options: ReadOptions = {}): Promise<NamespaceInfo> {
    return this.#get(this.#base, options);
  }

  /** Deletes the namespace and its objects. */
  drop(options: CallOptions = {}): Promise<DeleteNamespaceResult> {
    return this.#transport.request({ method: "DELETE", path: this.#base, idempotent: false }, calls(options));
  }

  /**
   * The manifest versions stored, ascending (or newest first with `order:
   * "desc"`, the cheaper order for the server), page by page: iterate,
   * `.pages()`, or `await` for the whole array (see Paginated). Each is
   * readable with `atVersion` / `at(version)` until retention deletes it.
   */
  versions(options: VersionsOptions = {}): Paginated<number, VersionsPage> {
    const pageSize = options.pageSize ?? DEFAULT_LIST_PAGE;
    return new Paginated((cursor) => this.versionsPage({ ...options, pageSize, cursor }), (page) => page.versions, options);
  }

  /** One page of the stored versions (from `cursor`, which keeps the order it was made in, or the first). */
  versionsPage(options: VersionsOptions = {}): Promise<VersionsPage> {
    checkPageSize(options.pageSize);
    const limit = options.pageSize ?? (options.cursor === undefined ? DEFAULT_LIST_PAGE : undefined);
    const query = { cursor: options.cursor, limit, order: options.cursor === undefined ? options.order : undefined };
    return this.#transport.request({ method: "GET", path: `${this.#base}/versions`, query, idempotent: true }, calls(options));
  }

  /** One manifest: its containers in fold order with rows, bytes and tombstoned rows. */
  manifest(options: ReadOptions = {}): Promise<ManifestView> {
    return this.#get(`${this.#base}/manifest`, options);
  }

  /** Replaces the labels. Retried after an unknown outcome only without `ifVersion`. */
  setLabels(labels: Labels, options: ConditionalOptions = {}): Promise<NamespaceInfo> {
    return this.#transport.request(
      { method: "PUT", path: `${this.#base}/labels`, body: defined({ labels, ifVersion: options.ifVersion }), idempotent: options.ifVersion === undefined },
      calls(options),
    );
  }

  /**
   * Sets the full-text options of text fields (the fields named; others keep theirs). Tokenization options apply
   * to what is indexed from then on (a forced compaction re-indexes older segments); k1/b to every query at once.
   * Retried after an unknown outcome only without `ifVersion`.
   */
  setTextFields(textFields: Readonly<Record<string, TextFieldOptions>>, options: ConditionalOptions = {}): Promise<NamespaceInfo> {
    return this.#transport.request(
      { method: "PUT", path: `${this.#base}/text-fields`, body: defined({ textFields, ifVersion: options.ifVersion }), idempotent: options.ifVersion === undefined },
      calls(options),
    );
  }

  /**
   * Extends the typed schema: the id type, attribute types, `filterable`, options (merged into the namespace's:
   * attributes are added, int may widen to float; another type change is a SkerryError InvalidArgument). Retried
   * after an unknown outcome only without `ifVersion`.
   */
  setSchema(schema: NamespaceSchemaInput, options: ConditionalOptions = {}): Promise<NamespaceInfo> {
    return this.#transport.request(
      { method: "PUT", path: `${this.#base}/schema`, body: defined({ schema, ifVersion: options.ifVersion }), idempotent: options.ifVersion === undefined },
      calls(options),
    );
  }

  /** The typed schema at the latest or a given version (`schema` null: the namespace is schemaless). */
  getSchema(options: ReadOptions = {}): Promise<SchemaResult> {
    return this.#get(`${this.#base}/schema`, options);
  }

  /** A read-only view of this namespace as of one version. */
  at(version: number): NamespaceReader<A> {
    if (!Number.isInteger(version) || version < 1) throw new RangeError(`a version is a positive integer, got ${version}`);
    const at = <O extends ReadOptions>(o: O | undefined) => ({ ...o, atVersion: version });
    return {
      info: (o) => this.info(at(o)),
      manifest: (o) => this.manifest(at(o)),
      get: (ids, o) => this.get(ids, at(o)),
      document: (id, o) => this.document(id, at(o)),
      scanPage: (o) => this.scanPage(at(o)),
      scan: (o) => this.scan(at(o)),
      scanPages: (o) => this.scanPages(at(o)),
      query: (request, o) => this.query(request, at(o)),
    };
  }

  // --------------------------------------------------------------- writes

  /** Inserts or replaces whole documents. */
  upsert(documents: readonly DocumentInput<A>[], options: WriteOptions = {}): Promise<WriteResult> {
    return this.#write("upsert", { documents }, options);
  }

  /** Changes fields of existing documents (`null` removes a field); a missing id rejects the whole write. */
  patch(patches: readonly DocumentPatch<A>[], options: WriteOptions = {}): Promise<WriteResult> {
    return this.#write("patch", { patches }, options);
  }

  /** Deletes documents by id (absent ids are no-ops). */
  delete(ids: readonly string[], options: WriteOptions = {}): Promise<WriteResult> {
    return this.#write("delete", { ids }, options);
  }

  /** Upserts, patches and deletes, with per-document conditions, committed as one version (see `WriteBatch`). */
  write(batch: WriteBatch<A>, options: WriteOptions = {}): Promise<WriteBatchResult> {
    const idempotencyKey = options.idempotencyKey ?? this.#newKey();
    return this.#transport.request(
      { method: "POST", path: `${this.#base}/write`, body: defined({ ...batch, ifVersion: options.ifVersion }), idempotencyKey, idempotent: true },
      calls(options),
    );
  }

  /** Deletes every document matching the filter, in one snapshot (crash-safe through the WAL). Not retried after an unknown outcome. */
  deleteByFilter(filter: Filter<A>, options: ByFilterOptions = {}): Promise<DeleteByFilterResult> {
    const { ifVersion, maxTargets, allowPartial } = options;
    return this.#transport.request(
      { method: "POST", path: `${this.#base}/deleteByFilter`, body: defined({ filter, ifVersion, maxTargets, allowPartial }), idempotent: false },
      calls(options),
    );
  }

  /** Patches every document matching the filter, in one snapshot (crash-safe through the WAL). Not retried after an unknown outcome. */
  patchByFilter(filter: Filter<A>, patch: Omit<DocumentPatch<A>, "id">, options: ByFilterOptions = {}): Promise<PatchByFilterResult> {
    const { ifVersion, maxTargets, allowPartial } = options;
    return this.#transport.request(
      { method: "POST", path: `${this.#base}/patchByFilter`, body: defined({ filter, patch, ifVersion, maxTargets, allowPartial }), idempotent: false },
      calls(options),
    );
  }

  #write(op: "upsert" | "patch" | "delete", body: Record<string, unknown>, options: WriteOptions): Promise<WriteResult> {
    // One key per logical write, made before the first attempt: every retry sends the same one.
    const idempotencyKey = options.idempotencyKey ?? this.#newKey();
    return this.#transport.request(
      { method: "POST", path: `${this.#base}/${op}`, body: defined({ ...body, ifVersion: options.ifVersion }), idempotencyKey, idempotent: true },
      calls(options),
    );
  }

  // ---------------------------------------------------------------- reads

  /** Documents by id, aligned with `ids` (null where absent; at most 10,000 ids). */
  get(ids: readonly string[], options: ReadOptions = {}): Promise<GetDocumentsResult<A>> {
    return this.#transport.request(
      { method: "POST", path: `${this.#base}/documents/get`, body: defined({ ids, atVersion: options.atVersion, consistency: options.consistency }), idempotent: true },
      calls(options),
    );
  }

  /** One document, or null when the namespace has no document with this id. */
  async document(id: string, options: ReadOptions = {}): Promise<Document<A> | null> {
    // "." and ".." cannot be a URL path segment (URLs resolve them): ask by body.
    if (id === "." || id === "..") return (await this.get([id], options)).documents[0] ?? null;
    try {
      return await this.#get(`${this.#base}/documents/${encodeURIComponent(id)}`, options);
    } catch (error) {
      if (isSkerryError(error, "DocumentNotFound")) return null;
      throw error;
    }
  }

  /** One page of documents in id order (from `cursor`, `after`, or the first); its `nextCursor` resumes at its version. */
  scanPage(options: ScanOptions = {}): Promise<ScanPage<A>> {
    checkPageSize(options.pageSize);
    if (options.cursor !== undefined && options.after !== undefined) throw new TypeError("pass either cursor or after, not both");
    const query = { atVersion: options.atVersion, consistency: options.consistency, cursor: options.cursor, after: options.after, limit: options.pageSize };
    return this.#transport.request({ method: "GET", path: `${this.#base}/documents`, query, idempotent: true }, calls(options));
  }

  /**
   * Every page of documents in id order, from one snapshot: each page's
   * `nextCursor` holds the first page's version (or `atVersion`), so writes
   * made meanwhile do not show (SkerryError `VersionNotFound` if retention
   * deletes that version before the scan ends). Each page is one call (its
   * own timeout); the signal is also checked between pages.
   */
  async *scanPages(options: ScanOptions = {}): AsyncIterableIterator<ScanPage<A>> {
    let next: ScanOptions = options;
    for (;;) {
      options.signal?.throwIfAborted();
      const page = await this.scanPage(next);
      yield page;
      if (page.nextCursor !== undefined) next = { ...options, after: undefined, cursor: page.nextCursor, atVersion: page.version };
      else if (page.next !== undefined) next = { ...options, cursor: undefined, after: page.next, atVersion: page.version }; // a server without cursors
      else return;
    }
  }

  /** Every document in id order, from one snapshot (see `scanPages`). */
  async *scan(options: ScanOptions = {}): AsyncIterableIterator<Document<A>> {
    for await (const page of this.scanPages(options)) yield* page.documents;
  }

  /** Filters, dense and sparse vectors, BM25, hybrid (RRF), ordering and aggregations. */
  query(request: QueryRequest<A>, options: ReadOptions = {}): Promise<QueryResult<A>> {
    const body = { ...request, ...defined({ atVersion: options.atVersion, consistency: options.consistency }) };
    return this.#transport.request({ method: "POST", path: `${this.#base}/query`, body, idempotent: true }, calls(options));
  }

  #get<T>(path: string, options: ReadOptions): Promise<T> {
    return this.#transport.request({ method: "GET", path, query: { atVersion: options.atVersion, consistency: options.consistency }, idempotent: true }, calls(options));
  }

  // ---------------------------------------------------- sharing and state

  /**
   * A copy-on-write branch (same project; objects shared and reference
   * counted) named `target`, of the latest or `atVersion` version.
   */
  branch(target: string, options: ForkOptions & CallOptions = {}): Promise<NamespaceInfo> {
    return this.#fork("branch", target, options);
  }

  /** A full copy; `target` is a name in this project or `org/project/name` (another project needs a key covering both). */
  copy(target: string, options: ForkOptions & CallOptions = {}): Promise<NamespaceInfo> {
    return this.#fork("copy", target, options);
  }

  #fork(mode: "branch" | "copy", target: string, options: ForkOptions & CallOptions): Promise<NamespaceInfo> {
    const parts = target.split("/");
    if (parts.length === 3) {
      checkName("target organization", parts[0] as string);
      checkName("target project", parts[1] as string);
      checkName("target namespace", parts[2] as string);
    } else checkName("target namespace", target);
    return this.#transport.request(
      { method: "POST", path: `${this.#base}/${mode}`, body: defined({ target, atVersion: options.atVersion, labels: options.labels }), idempotent: false },
      calls(options),
    );
  }

  /** Pins the namespace (every server keeps its state in memory) and warms it now. */
  pin(options: CallOptions = {}): Promise<WarmResult> {
    return this.#transport.request({ method: "POST", path: `${this.#base}/pin`, idempotent: true }, calls(options));
  }

  unpin(options: CallOptions = {}): Promise<UnpinResult> {
    return this.#transport.request({ method: "DELETE", path: `${this.#base}/pin`, idempotent: true }, calls(options));
  }

  /** Loads the namespace's state at its latest version into memory ahead of reads. */
  warm(options: CallOptions = {}): Promise<WarmResult> {
    return this.#transport.request({ method: "POST", path: `${this.#base}/warm`, idempotent: true }, calls(options));
  }

  // ----------------------------------------------------------- operations

  /** Compacts when due (tiered); `force` folds everything into one segment. */
  compact(options: { readonly force?: boolean } & CallOptions = {}): Promise<OperationReport> {
    return this.#transport.request({ method: "POST", path: `${this.#base}/compact`, body: defined({ force: options.force }), idempotent: true }, calls(options));
  }

  /** Runs the recovery sweep and answers its report. */
  recover(options: CallOptions = {}): Promise<OperationReport> {
    return this.#transport.request({ method: "POST", path: `${this.#base}/recover`, idempotent: true }, calls(options));
  }

  /**
   * The namespace's WAL state documents (predicate mutations), decoded, in
   * WAL id order, page by page: iterate, `.pages()`, or `await` for the
   * whole array (see Paginated).
   */
  wal(options: ListOptions = {}): Paginated<WalEntry, WalPage> {
    const pageSize = options.pageSize ?? DEFAULT_LIST_PAGE;
    return new Paginated((cursor) => this.walPage({ ...options, pageSize, cursor }), (page) => page.entries, options);
  }

  /** One page of the WAL entries (from `cursor`, or the first). */
  walPage(options: ListOptions = {}): Promise<WalPage> {
    checkPageSize(options.pageSize);
    const limit = options.pageSize ?? (options.cursor === undefined ? DEFAULT_LIST_PAGE : undefined);
    return this.#transport.request({ method: "GET", path: `${this.#base}/wal`, query: { cursor: options.cursor, limit }, idempotent: true }, calls(options));
  }

  /** Deletes finished WAL documents older than `graceMs` (default one day). */
  walGc(options: { readonly graceMs?: number } & CallOptions = {}): Promise<OperationReport> {
    return this.#transport.request({ method: "POST", path: `${this.#base}/wal/gc`, body: defined({ graceMs: options.graceMs }), idempotent: true }, calls(options));
  }

  /** Manifest retention: deletes expired versions and the objects only they referenced. */
  gc(options: GcOptions & CallOptions = {}): Promise<GarbageReport> {
    const body = defined({ keepVersions: options.keepVersions, keepForMs: options.keepForMs });
    return this.#transport.request({ method: "POST", path: `${this.#base}/gc`, body, idempotent: true }, calls(options));
  }
}
