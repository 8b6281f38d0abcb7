/**
 * Project: a handle on one org/project (nothing is sent when made): its
 * namespace list, namespace handles, creation, and repair.
 */
import type { CreateNamespaceOptions, NamespaceInfo, NamespaceListPage, RepairOptions, RepairReport } from "./api-types.ts";
import type { Attributes } from "./json.ts";
import { checkName, Namespace } from "./namespace.ts";
import { checkPageSize, DEFAULT_LIST_PAGE, type ListOptions, Paginated } from "./paginated.ts";
import type { CallOptions, Transport } from "./transport.ts";

/** The routes of one org/project. */
export class Project {
  readonly #transport: Transport;
  readonly #newKey: () => string;
  readonly org: string;
  readonly name: string;
  readonly #base: string;

  constructor(transport: Transport, newKey: () => string, org: string, project: string) {
    this.#transport = transport;
    this.#newKey = newKey;
    this.org = checkName("organization", org);
    this.name = checkName("project", project);
    this.#base = `/v1/orgs/${encodeURIComponent(org)}/projects/${encodeURIComponent(project)}`;
  }

  /** A handle on one namespace (nothing is sent); `A` types its documents' attributes. */
  namespace<A = Attributes>(name: string): Namespace<A> {
    return new Namespace<A>(this.#transport, this.#newKey, this.org, this.name, name);
  }

  /**
   * The live namespaces' names, sorted, page by page (`pageSize`, default
   * 1,000): `for await (const name of project.listNamespaces())`,
   * `.pages()`, or `await` for the whole array (see Paginated).
   */
  listNamespaces(options: ListOptions = {}): Paginated<string, NamespaceListPage> {
    const pageSize = options.pageSize ?? DEFAULT_LIST_PAGE;
    return new Paginated((cursor) => this.listNamespacesPage({ ...options, pageSize, cursor }), (page) => page.namespaces, options);
  }

  /** One page of the live namespaces' names (from `cursor`, or the first). */
  listNamespacesPage(options: ListOptions = {}): Promise<NamespaceListPage> {
    checkPageSize(options.pageSize);
    const query = { cursor: options.cursor, limit: options.pageSize ?? (options.cursor === undefined ? DEFAULT_LIST_PAGE : undefined) };
    return this.#transport.request({ method: "GET", path: `${this.#base}/namespaces`, query, idempotent: true }, { signal: options.signal, timeoutMs: options.timeoutMs });
  }

  /** Creates a namespace (SkerryError `NamespaceExists` if it exists). */
  createNamespace(name: string, options: CreateNamespaceOptions & CallOptions = {}): Promise<NamespaceInfo> {
    return this.namespace(name).create(options);
  }

  /**
   * Repairs the project (admin key): rebuilds reference counts from every
   * namespace's retained manifests, finishes interrupted deletions and, with
   * `sweep`, deletes unreferenced objects older than `graceMs`.
   */
  repair(options: RepairOptions & CallOptions = {}): Promise<RepairReport> {
    const body: Record<string, unknown> = {};
    if (options.sweep !== undefined) body["sweep"] = options.sweep;
    if (options.graceMs !== undefined) body["graceMs"] = options.graceMs;
    return this.#transport.request({ method: "POST", path: `${this.#base}/repair`, body, idempotent: true }, { signal: options.signal, timeoutMs: options.timeoutMs });
  }
}
