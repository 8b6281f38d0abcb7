/**
 * Keys: API key management (create, list, revoke), admin keys only.
 */
import type { CreatedKey, CreateKeyRequest, KeyInfo } from "./api-types.ts";
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

  /** Every key (never its plaintext). */
  async list(options: CallOptions = {}): Promise<KeyInfo[]> {
    return (await this.#transport.request<{ keys: KeyInfo[] }>({ method: "GET", path: "/v1/keys", idempotent: true }, options)).keys;
  }

  /** Revokes a key by id (SkerryError `KeyNotFound` if there is none). */
  async revoke(id: string, options: CallOptions = {}): Promise<void> {
    if (!/^[0-9a-f]{16}$/.test(id)) throw new TypeError(`a key id is 16 lowercase hex digits, got ${JSON.stringify(id)}`);
    await this.#transport.request({ method: "DELETE", path: `/v1/keys/${id}`, idempotent: false }, options);
  }
}
