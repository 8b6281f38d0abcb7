/**
 * Keys: API key management (create, list, revoke), admin keys only.
 */
import type { CreatedKey, CreateKeyRequest, KeyInfo, KeyListPage } from "./api-types.ts";
import { checkPageSize, DEFAULT_LIST_PAGE, type ListOptions, Paginated } from "./paginated.ts";
import type { CallOptions, Transport } from "./transport.ts";

/** API key management (admin key). */
export class Keys {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** Creates a key; its plaintext is in this answer only. Not retried after an unknown outcome. */
  create(request: CreateKeyRequest, options: CallOptions = {}): Promise<CreatedKey> {
    return this.#transport.request({ method: "POST", path: "/v1/keys", body: request, idempotent: false }, options);
  }

  /** Every key (never its plaintext), in creation order, page by page: iterate, `.pages()`, or `await` for the array (see Paginated). */
  list(options: ListOptions = {}): Paginated<KeyInfo, KeyListPage> {
    const pageSize = options.pageSize ?? DEFAULT_LIST_PAGE;
    return new Paginated((cursor) => this.listPage({ ...options, pageSize, cursor }), (page) => page.keys, options);
  }

  /** One page of keys (from `cursor`, or the first). */
  listPage(options: ListOptions = {}): Promise<KeyListPage> {
    checkPageSize(options.pageSize);
    const query = { cursor: options.cursor, limit: options.pageSize ?? (options.cursor === undefined ? DEFAULT_LIST_PAGE : undefined) };
    return this.#transport.request({ method: "GET", path: "/v1/keys", query, idempotent: true }, { signal: options.signal, timeoutMs: options.timeoutMs });
  }

  /** Revokes a key by id (SkerryError `KeyNotFound` if there is none). */
  async revoke(id: string, options: CallOptions = {}): Promise<void> {
    if (!/^[0-9a-f]{16}$/.test(id)) throw new TypeError(`a key id is 16 lowercase hex digits, got ${JSON.stringify(id)}`);
    await this.#transport.request({ method: "DELETE", path: `/v1/keys/${id}`, idempotent: false }, options);
  }
}
