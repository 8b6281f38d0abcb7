/**
 * API keys: records stored hashed in the object store, and the lookups the
 * server does on every request.
 *
 * A key is `sk_<43 chars of base64url>` (256 random bits). Only
 * `sha256(key)` is stored, as `_skerry/keys/<hash hex>.json` (the leading `_`
 * can never be an organization name, so no namespace can collide with it),
 * holding the scope: role `admin` (every org and project, and key
 * management) or a project key `{ org, project, role: "read" | "write" }`.
 *
 * The bootstrap admin key comes from SKERRY_ADMIN_KEY, or is generated on
 * the first run (its record is written and `_skerry/bootstrap.json` marks
 * that it happened, so a later run never mints a second one).
 *
 * Lookups go by hash (the stored name), then the stored hash is compared
 * in constant time; results are cached for `cacheMs` (negative results
 * too, so wrong keys do not hammer the store). Revocation in this process
 * takes effect at once; in other processes within `cacheMs`.
 *
 * Errors: storage errors pass through; `KeyNotFound` (ApiError) on revoke.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { isAlreadyExists, isNotFound, type StorageProvider } from "@skerry/storage-providers";
import { ApiError } from "../http/api-error.ts";

export type Role = "admin" | "read" | "write";

export interface KeyRecord {
  readonly schema_version: 1;
  /** Short public id (first 16 hex chars of the hash), for listing and revoking. */
  readonly id: string;
  readonly hash: string;
  readonly role: Role;
  /** Absent for admin keys. */
  readonly org?: string;
  readonly project?: string;
  readonly name?: string;
  readonly created_at: number;
}

/** Who a request is. */
export interface Principal {
  readonly keyId: string;
  readonly role: Role;
  readonly org?: string | undefined;
  readonly project?: string | undefined;
}

export const KEYS_PREFIX = "_skerry/keys/";
export const BOOTSTRAP_KEY = "_skerry/bootstrap.json";

const enc = new TextEncoder();
const dec = new TextDecoder();

export function hashKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

export function generateKey(): string {
  return `sk_${randomBytes(32).toString("base64url")}`;
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

export class ApiKeyStore {
  readonly #storage: StorageProvider;
  readonly #cacheMs: number;
  readonly #cache = new Map<string, { record: KeyRecord | null; at: number }>();
  readonly #envAdminHash: string | undefined;

  constructor(storage: StorageProvider, options: { envAdminKey?: string | undefined; cacheMs?: number } = {}) {
    this.#storage = storage;
    this.#cacheMs = options.cacheMs ?? 10_000;
    this.#envAdminHash = options.envAdminKey === undefined ? undefined : hashKey(options.envAdminKey);
  }

  /**
   * Makes sure an admin key exists. Returns the plaintext of a key minted
   * now (first run without SKERRY_ADMIN_KEY), or undefined.
   */
  async bootstrap(): Promise<{ generated: string | undefined }> {
    if (this.#envAdminHash !== undefined) return { generated: undefined };
    if ((await this.#storage.head(BOOTSTRAP_KEY)) !== null) return { generated: undefined };
    const key = generateKey();
    await this.#write(this.#record(hashKey(key), { role: "admin", name: "bootstrap admin" }));
    try {
      await this.#storage.put(BOOTSTRAP_KEY, enc.encode(JSON.stringify({ schema_version: 1, created_at: Date.now() })), { mode: { kind: "create" } });
    } catch (error) {
      // Another process bootstrapped at the same moment: keep one admin key, theirs.
      if (isAlreadyExists(error)) {
        await this.#storage.delete(`${KEYS_PREFIX}${hashKey(key)}.json`);
        return { generated: undefined };
      }
      throw error;
    }
    return { generated: key };
  }

  /** The principal of a presented key, or undefined if unknown. */
  async authenticate(key: string): Promise<Principal | undefined> {
    const hash = hashKey(key);
    if (this.#envAdminHash !== undefined && sameHash(hash, this.#envAdminHash)) {
      return { keyId: hash.slice(0, 16), role: "admin" };
    }
    const record = await this.#lookup(hash);
    if (record === null || !sameHash(record.hash, hash)) return undefined;
    return { keyId: record.id, role: record.role, org: record.org, project: record.project };
  }

  /** Mints a key; returns its plaintext (shown once) and record. */
  async create(scope: { role: Role; org?: string | undefined; project?: string | undefined; name?: string | undefined }): Promise<{ key: string; record: KeyRecord }> {
    const key = generateKey();
    const record = this.#record(hashKey(key), scope);
    await this.#write(record);
    return { key, record };
  }

  async list(): Promise<KeyRecord[]> {
    const out: KeyRecord[] = [];
    for await (const meta of this.#storage.list(KEYS_PREFIX)) {
      try {
        const { bytes } = await this.#storage.get(meta.key);
        out.push(JSON.parse(dec.decode(bytes)) as KeyRecord);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    return out.sort((a, b) => a.created_at - b.created_at || a.id.localeCompare(b.id));
  }

  /** Revokes the key with this public id. */
  async revoke(id: string): Promise<void> {
    const match = (await this.list()).find((r) => r.id === id);
    if (match === undefined) throw new ApiError("KeyNotFound", `no API key with id ${JSON.stringify(id)}`);
    await this.#storage.delete(`${KEYS_PREFIX}${match.hash}.json`);
    this.#cache.set(match.hash, { record: null, at: Date.now() });
  }

  #record(hash: string, scope: { role: Role; org?: string | undefined; project?: string | undefined; name?: string | undefined }): KeyRecord {
    return {
      schema_version: 1,
      id: hash.slice(0, 16),
      hash,
      role: scope.role,
      ...(scope.org === undefined ? {} : { org: scope.org }),
      ...(scope.project === undefined ? {} : { project: scope.project }),
      ...(scope.name === undefined ? {} : { name: scope.name }),
      created_at: Date.now(),
    };
  }

  async #write(record: KeyRecord): Promise<void> {
    await this.#storage.put(`${KEYS_PREFIX}${record.hash}.json`, enc.encode(JSON.stringify(record)), { mode: { kind: "create" } });
    this.#cache.set(record.hash, { record, at: Date.now() });
  }

  async #lookup(hash: string): Promise<KeyRecord | null> {
    const cached = this.#cache.get(hash);
    if (cached !== undefined && Date.now() - cached.at < this.#cacheMs) return cached.record;
    let record: KeyRecord | null = null;
    try {
      const { bytes } = await this.#storage.get(`${KEYS_PREFIX}${hash}.json`);
      record = JSON.parse(dec.decode(bytes)) as KeyRecord;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(hash, { record, at: Date.now() });
    return record;
  }
}

/** Whether `principal` may do `action` in org/project. */
export function allows(principal: Principal, org: string, project: string, action: "read" | "write"): boolean {
  if (principal.role === "admin") return true;
  if (principal.org !== org || principal.project !== project) return false;
  return action === "read" || principal.role === "write";
}
