/**
 * Server configuration from the environment, with the defaults a newcomer
 * needs no flag for: local-fs storage in `./.skerry-data` (relative to where
 * the command was typed: pnpm runs scripts in the package directory and sets
 * INIT_CWD to the user's directory), 127.0.0.1:7700, and request limits.
 *
 * Variables: SKERRY_DATA_DIR, SKERRY_HOST, SKERRY_PORT, SKERRY_ADMIN_KEY,
 * SKERRY_SAMPLE (0 to skip the sample dataset), SKERRY_LOG_LEVEL,
 * SKERRY_BODY_LIMIT_BYTES, SKERRY_REQUEST_TIMEOUT_MS,
 * SKERRY_MAX_IN_FLIGHT_PER_KEY, SKERRY_MAX_IN_FLIGHT, SKERRY_STATE_DIR (persist warmed and
 * pinned namespaces' materialized states there; off when unset), SKERRY_BLOCK_CACHE_MB (memory tier of
 * the block cache for immutable objects, default 256; 0 turns the cache off), SKERRY_BLOCK_CACHE_DIR and
 * SKERRY_BLOCK_CACHE_DISK_MB (its disk tier, default 4096 MB when a directory is set), SKERRY_TURBOPUFFER_PROJECT
 * (`org/project` the turbopuffer-compatible routes use for an admin key, default `default/default`); S3 through S3_BUCKET / S3_ENDPOINT /
 * S3_PREFIX / AWS_* (storage/open-storage.ts).
 *
 * Errors: a ConfigError naming the variable and what it accepts.
 */
import { resolve } from "node:path";

export interface ServerConfig {
  /** Local directory: the local-fs store (unless S3 is configured) and the admin key file. */
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  /** When the port is busy: try the next ones (true for the default port only). */
  readonly portFallback: boolean;
  /** Bootstrap admin key from the environment; undefined: generate one on first run. */
  readonly adminKey: string | undefined;
  readonly sample: boolean;
  readonly logLevel: string;
  readonly limits: RequestLimits;
  /** The engine's block cache (segments, query indexes, log batches); undefined: off. */
  readonly blockCache: { readonly memoryBytes: number; readonly disk?: { readonly dir: string; readonly maxBytes: number } } | undefined;
  /** Local directory for persisted materialized states (one server per directory); undefined: off. */
  readonly stateDir: string | undefined;
  /** The org/project the turbopuffer-compatible routes act on for an admin key (a project key uses its own). */
  readonly turbopufferProject: TurbopufferProject;
}

export interface TurbopufferProject {
  readonly org: string;
  readonly project: string;
}

export const DEFAULT_TURBOPUFFER_PROJECT: TurbopufferProject = { org: "default", project: "default" };

function turbopufferProject(env: Env): TurbopufferProject {
  const raw = env["SKERRY_TURBOPUFFER_PROJECT"];
  if (raw === undefined || raw === "") return DEFAULT_TURBOPUFFER_PROJECT;
  const parts = raw.split("/");
  const name = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
  if (parts.length !== 2 || !parts.every((p) => name.test(p) && !p.includes(".."))) {
    throw new ConfigError(`SKERRY_TURBOPUFFER_PROJECT must be org/project (letters, digits, - _ .), got ${JSON.stringify(raw)}`);
  }
  return { org: parts[0] as string, project: parts[1] as string };
}

export interface RequestLimits {
  /** Largest request body in bytes (413 above). */
  readonly bodyBytes: number;
  /** Longest a request may take before 503 Timeout. */
  readonly requestTimeoutMs: number;
  /** Requests one API key may have in flight (429 above). */
  readonly maxInFlightPerKey: number;
  /** /v1 requests the whole server may have in flight, every key together (503 Overloaded above). */
  readonly maxInFlight: number;
  /** Most documents, patches or ids in one write (413 above). */
  readonly maxBatch: number;
  /**
   * Most documents one turbopuffer `delete_by_filter` / `patch_by_filter` may change (turbopuffer's limits are 5M and
   * 50k; the engine bounds every predicate mutation by its own `maxMutationTargets`, 100,000 by default). A filter
   * matching more is a 400 changing nothing, or with `*_allow_partial` changes this many and answers `rows_remaining`.
   */
  readonly maxDeleteByFilter: number;
  readonly maxPatchByFilter: number;
}

export const DEFAULT_PORT = 7700;

export const DEFAULT_LIMITS: RequestLimits = {
  bodyBytes: 16 * 1024 * 1024,
  requestTimeoutMs: 30_000,
  maxInFlightPerKey: 32,
  maxInFlight: 256,
  maxBatch: 10_000,
  maxDeleteByFilter: 100_000,
  maxPatchByFilter: 50_000,
};

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

type Env = Readonly<Record<string, string | undefined>>;

function positiveInt(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new ConfigError(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return value;
}

/** The directory a relative path is taken from: where the user typed the command. */
export function userCwd(env: Env = process.env): string {
  return env["INIT_CWD"] ?? process.cwd();
}

const MB = 1024 * 1024;

function blockCacheConfig(env: Env): ServerConfig["blockCache"] {
  const memoryMb = nonNegativeInt(env, "SKERRY_BLOCK_CACHE_MB", 256);
  const dir = env["SKERRY_BLOCK_CACHE_DIR"] || undefined;
  if (memoryMb === 0 && dir === undefined) return undefined;
  const disk = dir === undefined ? undefined : { dir: resolve(userCwd(env), dir), maxBytes: positiveInt(env, "SKERRY_BLOCK_CACHE_DISK_MB", 4096) * MB };
  return { memoryBytes: memoryMb * MB, ...(disk === undefined ? {} : { disk }) };
}

function nonNegativeInt(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number of megabytes, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

export function loadConfig(env: Env = process.env): ServerConfig {
  const port = positiveInt(env, "SKERRY_PORT", DEFAULT_PORT);
  if (port > 65_535) throw new ConfigError(`SKERRY_PORT must be at most 65535, got ${port}`);
  const adminKey = env["SKERRY_ADMIN_KEY"] || undefined;
  if (adminKey !== undefined && adminKey.length < 16) throw new ConfigError("SKERRY_ADMIN_KEY must be at least 16 characters");
  return {
    dataDir: resolve(userCwd(env), env["SKERRY_DATA_DIR"] || ".skerry-data"),
    host: env["SKERRY_HOST"] || "127.0.0.1",
    port,
    portFallback: !env["SKERRY_PORT"],
    adminKey,
    sample: env["SKERRY_SAMPLE"] !== "0",
    logLevel: env["SKERRY_LOG_LEVEL"] || "info",
    stateDir: env["SKERRY_STATE_DIR"] ? resolve(userCwd(env), env["SKERRY_STATE_DIR"]) : undefined,
    blockCache: blockCacheConfig(env),
    turbopufferProject: turbopufferProject(env),
    limits: {
      bodyBytes: positiveInt(env, "SKERRY_BODY_LIMIT_BYTES", DEFAULT_LIMITS.bodyBytes),
      requestTimeoutMs: positiveInt(env, "SKERRY_REQUEST_TIMEOUT_MS", DEFAULT_LIMITS.requestTimeoutMs),
      maxInFlightPerKey: positiveInt(env, "SKERRY_MAX_IN_FLIGHT_PER_KEY", DEFAULT_LIMITS.maxInFlightPerKey),
      maxInFlight: positiveInt(env, "SKERRY_MAX_IN_FLIGHT", DEFAULT_LIMITS.maxInFlight),
      maxBatch: DEFAULT_LIMITS.maxBatch,
      maxDeleteByFilter: DEFAULT_LIMITS.maxDeleteByFilter,
      maxPatchByFilter: DEFAULT_LIMITS.maxPatchByFilter,
    },
  };
}
