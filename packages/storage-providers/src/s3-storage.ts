/**
 * S3Storage: a StorageProvider over Amazon S3 and S3-compatible stores
 * (Ceph RGW, MinIO, R2) through `@aws-sdk/client-s3`.
 *
 * Mapping of the interface:
 * - `get`: GetObject, with `Range: bytes=first-last` for byte ranges; the
 *   full size comes from Content-Range. A range starting at or past the end
 *   (S3: 416) or of length 0 yields no bytes and the object's meta.
 * - `head`: HeadObject; null on 404.
 * - `put`: PutObject. `create` sends `If-None-Match: *`, `update` sends
 *   `If-Match: <etag>` (unquoted: see `internal/s3-etag.ts`).
 * - `delete`: DeleteObject (S3 answers 204 for a missing key too).
 * - `list`: ListObjectsV2 pages (ContinuationToken), `StartAfter` on the first.
 * All keys are relative to the provider's `prefix` inside the bucket.
 *
 * Errors: every SDK or network failure is mapped at this edge to the closed
 * set in `errors.ts` (see `internal/s3-errors.ts`), with the native error as
 * `cause`. Etags are returned without quotes.
 *
 * Retries are ours, not the SDK's: the client we build has `maxAttempts: 1`,
 * and `internal/retry.ts` retries Unavailable (throttling, 5xx, network,
 * timeouts) and Conflict with capped exponential backoff and full jitter,
 * with injectable `sleep`/`random` and an `onRetry` observer. Semantic 4xx
 * answers (NotFound, PreconditionFailed, ...) are never retried.
 *
 * Unknown outcomes: a conditional put that fails with 409, 5xx or a lost
 * connection may have been applied. S3Storage re-reads the object and
 * compares the stored etag with the MD5 of the body it sent to decide
 * (`internal/s3-outcome.ts`): landed -> success; unchanged -> retried;
 * anything else (another object, another etag, the key gone) ->
 * OutcomeUnknownError, because our write may have landed and been replaced
 * before the re-read: never a definite AlreadyExists / PreconditionFailed.
 * After one such unknown outcome, a later 412 on a retry is checked the same
 * way (the first attempt may have landed late): our bytes -> success,
 * anything else -> OutcomeUnknown. Limitation: two writers sending identical
 * bytes cannot be told apart; make bodies unique if you need exactly-once.
 * An abort during a conditional put also leaves its outcome unknown: the
 * caller gets AbortedError and must re-read if it cares.
 *
 * The AWS SDK is loaded on the first call, not on import (internal/s3-sdk.ts),
 * so importing this package for memory or local-fs storage never pays for it;
 * `getClient()` returns the SDK client for raw calls.
 *
 * Per-request CPU: the client we build caches each command's resolved
 * middleware stack (`cacheMiddleware`), and calls without an abort signal
 * pass no options, the SDK's condition for using that cache; so middleware
 * added to `getClient()`'s client after a command's first call does not
 * apply to that command (add it first).
 *
 * Note for RGW: under a real If-Match race most losers get HTTP 500, not 412;
 * the re-read turns those into OutcomeUnknown (the loser re-reads and decides).
 */
import type { PutObjectCommandInput, S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import {
  AlreadyExistsError,
  ConflictError,
  InternalError,
  isRetryable,
  NotFoundError,
  NotImplementedError,
  OutcomeUnknownError,
  PreconditionFailedError,
  type StorageError,
  UnavailableError,
} from "./errors.ts";
import { throwIfAborted } from "./internal/abort.ts";
import { md5Hex } from "./internal/md5.ts";
import { loadS3Sdk, type S3Sdk } from "./internal/s3-sdk-loader.ts";
import { checkRetryPolicy, DEFAULT_RETRY_POLICY, retry, type RetryPolicy } from "./internal/retry.ts";
import { unquoteEtag } from "./internal/s3-etag.ts";
import { classifyS3Error, mapS3Error, type S3Failure, toStorageError } from "./internal/s3-errors.ts";
import { type ConditionalMode, resolveOutcome } from "./internal/s3-outcome.ts";
import { parseContentRange, toHttpRange } from "./internal/s3-range.ts";
import { validateKey, validatePrefix } from "./keys.ts";
import type {
  CallOptions,
  GetOptions,
  GetResult,
  ListOptions,
  ObjectMeta,
  PutMode,
  PutOptions,
  PutResult,
  StorageProvider,
} from "./storage-provider.ts";

export type { RetryPolicy } from "./internal/retry.ts";

/** One retry, as told to `onRetry`. */
export interface S3RetryEvent {
  /** `get`, `head`, `put`, `delete` or `list`. */
  operation: string;
  /** The key (or list prefix) of the call. */
  key: string | undefined;
  /** The attempt that failed (1-based). */
  attempt: number;
  /** Wait before the next attempt. */
  delayMs: number;
  /** The typed error of the failed attempt. */
  error: StorageError;
}

export interface S3StorageOptions {
  bucket: string;
  /**
   * Key prefix inside the bucket (e.g. `tenants/a/`). Keys given to and
   * listed by the provider are relative to it. A missing trailing `/` is added.
   */
  prefix?: string | undefined;
  /** Custom endpoint (RGW, MinIO, R2), e.g. `http://127.0.0.1:7480`. */
  endpoint?: string | undefined;
  /** Defaults to `us-east-1`. */
  region?: string | undefined;
  /** Path-style URLs (`endpoint/bucket/key`); needed by RGW and MinIO. */
  forcePathStyle?: boolean | undefined;
  /** Static credentials or a provider; default: the SDK's chain (env, profile, IMDS...). */
  credentials?: S3ClientConfig["credentials"] | undefined;
  /**
   * Use this client instead of building one. It should be built with
   * `maxAttempts: 1` (else the SDK retries under ours) and with request and
   * response checksums `WHEN_REQUIRED`. S3Storage never destroys it.
   */
  client?: S3Client | undefined;
  /** Retry policy (merged over the default: 5 attempts, 50 ms base, 5 s cap). */
  retry?: Partial<RetryPolicy> | undefined;
  /** Uniform in [0, 1) for backoff jitter; defaults to Math.random. */
  random?: (() => number) | undefined;
  /** Sleep used between attempts; must reject when the signal fires. */
  sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  /** Observes every retry. */
  onRetry?: ((event: S3RetryEvent) => void) | undefined;
  /** TCP connect timeout of the client we build; default 5 s. */
  connectionTimeoutMs?: number | undefined;
  /** Socket inactivity timeout of the client we build; default 60 s. */
  socketTimeoutMs?: number | undefined;
  /** Name for logs; defaults to `s3://bucket/prefix`. */
  name?: string | undefined;
}

/** A ListObjectsV2 page holds at most 1,000 keys. */
const MAX_PAGE_SIZE = 1000;
const EMPTY = new Uint8Array(0);

type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function parseBoolean(name: string, value: string | undefined): boolean | undefined {
  const text = nonEmpty(value)?.toLowerCase();
  if (text === undefined) return undefined;
  if (["1", "true", "yes", "on"].includes(text)) return true;
  if (["0", "false", "no", "off"].includes(text)) return false;
  throw new InternalError(`${name} must be true or false, got ${JSON.stringify(value)}`);
}

/**
 * The options of `client.send`: none without a signal, so the client's cached
 * middleware handler is used (`cacheMiddleware`: the SDK resolves a command
 * class's middleware stack once, not on every request, but only for calls
 * without options).
 */
function sendOptions(signal: AbortSignal | undefined): { abortSignal: AbortSignal } | undefined {
  return signal === undefined ? undefined : { abortSignal: signal };
}

function normalizePrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === "") return "";
  validatePrefix(prefix);
  return prefix.endsWith("/") ? prefix : `${prefix}/`;
}

export class S3Storage implements StorageProvider {
  readonly name: string;
  readonly bucket: string;
  /** The key prefix inside the bucket ("" or ending in `/`). */
  readonly prefix: string;
  #client: S3Client | undefined;
  #building: Promise<{ client: S3Client; sdk: S3Sdk }> | undefined;
  readonly #clientConfig: S3ClientConfig | undefined;
  readonly #ownsClient: boolean;
  readonly #policy: RetryPolicy;
  readonly #random: (() => number) | undefined;
  readonly #sleep: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  readonly #onRetry: ((event: S3RetryEvent) => void) | undefined;

  constructor(options: S3StorageOptions) {
    if (typeof options.bucket !== "string" || options.bucket === "") {
      throw new InternalError("S3Storage needs a bucket name");
    }
    this.bucket = options.bucket;
    this.prefix = normalizePrefix(options.prefix);
    this.name = options.name ?? `s3://${this.bucket}/${this.prefix}`;
    this.#policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    checkRetryPolicy(this.#policy);
    this.#random = options.random;
    this.#sleep = options.sleep;
    this.#onRetry = options.onRetry;
    // The SDK is loaded, and our client built, on the first call (see
    // internal/s3-sdk.ts): constructing an S3Storage costs nothing.
    this.#client = options.client;
    this.#ownsClient = options.client === undefined;
    this.#clientConfig = options.client === undefined ? S3Storage.clientConfig(options) : undefined;
  }

  /**
   * The SDK client (for tools and benchmarks that need raw calls): the
   * injected one, or the one this instance builds, loading the AWS SDK on
   * first use.
   */
  async getClient(): Promise<S3Client> {
    return (await this.#io()).client;
  }

  /** The client and the SDK's classes, loaded and built once. */
  #io(): Promise<{ client: S3Client; sdk: S3Sdk }> {
    this.#building ??= loadS3Sdk().then(
      (sdk) => {
        this.#client ??= new sdk.S3Client(this.#clientConfig!);
        return { client: this.#client, sdk };
      },
      (error: unknown) => {
        this.#building = undefined;
        throw error;
      },
    );
    return this.#building;
  }

  /**
   * The S3Client configuration S3Storage builds its client with: SDK retries
   * off (ours are observable and abort-aware), checksums only when an
   * operation requires them (RGW and streaming bodies need this), timeouts.
   */
  static clientConfig(options: Omit<S3StorageOptions, "bucket" | "client">): S3ClientConfig {
    const config: S3ClientConfig = {
      region: options.region ?? "us-east-1",
      maxAttempts: 1,
      // Resolve each command class's middleware stack once (calls without a signal), not per request.
      cacheMiddleware: true,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      requestHandler: {
        connectionTimeout: options.connectionTimeoutMs ?? 5_000,
        socketTimeout: options.socketTimeoutMs ?? 60_000,
      },
    };
    if (options.endpoint !== undefined) config.endpoint = options.endpoint;
    if (options.forcePathStyle !== undefined) config.forcePathStyle = options.forcePathStyle;
    if (options.credentials !== undefined) config.credentials = options.credentials;
    return config;
  }

  /**
   * Builds an S3Storage from environment variables: S3_BUCKET (required),
   * S3_ENDPOINT, S3_PREFIX, AWS_REGION (or AWS_DEFAULT_REGION),
   * AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), and
   * S3_FORCE_PATH_STYLE (default: true when S3_ENDPOINT is set). Without
   * access keys in `env`, the SDK's default credential chain is used.
   * `overrides` win over the environment.
   */
  static fromEnv(env: Env = process.env, overrides: Partial<S3StorageOptions> = {}): S3Storage {
    const endpoint = nonEmpty(env["S3_ENDPOINT"]);
    const bucket = overrides.bucket ?? nonEmpty(env["S3_BUCKET"]);
    if (bucket === undefined) throw new InternalError("S3_BUCKET is not set");
    const options: S3StorageOptions = {
      bucket,
      region: nonEmpty(env["AWS_REGION"]) ?? nonEmpty(env["AWS_DEFAULT_REGION"]) ?? "us-east-1",
      forcePathStyle: parseBoolean("S3_FORCE_PATH_STYLE", env["S3_FORCE_PATH_STYLE"]) ?? endpoint !== undefined,
    };
    if (endpoint !== undefined) options.endpoint = endpoint;
    const prefix = nonEmpty(env["S3_PREFIX"]);
    if (prefix !== undefined) options.prefix = prefix;
    const accessKeyId = nonEmpty(env["AWS_ACCESS_KEY_ID"]);
    const secretAccessKey = nonEmpty(env["AWS_SECRET_ACCESS_KEY"]);
    if (accessKeyId !== undefined && secretAccessKey !== undefined) {
      const sessionToken = nonEmpty(env["AWS_SESSION_TOKEN"]);
      options.credentials =
        sessionToken === undefined ? { accessKeyId, secretAccessKey } : { accessKeyId, secretAccessKey, sessionToken };
    }
    return new S3Storage({ ...options, ...overrides, bucket });
  }

  /** Releases the sockets of the client this instance built (not of an injected one). */
  close(): void {
    if (this.#ownsClient) this.#client?.destroy();
  }

  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    validateKey(key);
    const { signal } = options;
    const range = toHttpRange(options.range, key);
    throwIfAborted(signal, key);
    return this.#withRetry("get", key, signal, async () => {
      if (range === "empty") {
        const meta = await this.#headOnce(key, signal);
        if (meta === null) throw new NotFoundError(`S3 get ${JSON.stringify(key)}: no such object`, { key });
        return { bytes: EMPTY, meta };
      }
      const { client, sdk } = await this.#io();
      let response;
      try {
        response = await client.send(
          new sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Range: range }),
          sendOptions(signal),
        );
      } catch (error) {
        const failure = classifyS3Error(error, signal);
        if (failure.kind === "invalidRange") return this.#emptyRange(key, options.range?.offset ?? 0, signal, error);
        throw toStorageError(failure, { key, operation: "get" });
      }
      const bytes = await this.#readBody(response.Body, key, signal);
      const total = parseContentRange(response.ContentRange);
      const meta = this.#meta(key, response.ETag, total ?? response.ContentLength ?? bytes.byteLength, response.LastModified);
      if (range !== undefined && total === undefined) {
        // The server ignored Range and sent the whole object: slice it here.
        const { offset, length } = options.range!;
        const end = length === undefined ? bytes.byteLength : Math.min(bytes.byteLength, offset + length);
        return { bytes: bytes.slice(Math.min(offset, bytes.byteLength), end), meta };
      }
      return { bytes, meta };
    });
  }

  async head(key: string, options: CallOptions = {}): Promise<ObjectMeta | null> {
    validateKey(key);
    const { signal } = options;
    throwIfAborted(signal, key);
    return this.#withRetry("head", key, signal, () => this.#headOnce(key, signal));
  }

  async put(key: string, bytes: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    validateKey(key);
    const mode = options.mode ?? { kind: "overwrite" };
    const { signal } = options;
    if (!(bytes instanceof Uint8Array)) {
      throw new InternalError(`put ${JSON.stringify(key)}: bytes must be a Uint8Array`, { key });
    }
    const input: PutObjectCommandInput = {
      Bucket: this.bucket,
      Key: this.prefix + key,
      Body: bytes,
      ContentLength: bytes.byteLength,
    };
    switch (mode.kind) {
      case "overwrite":
        break;
      case "create":
        input.IfNoneMatch = "*";
        break;
      case "update": {
        const etag = typeof mode.etag === "string" ? unquoteEtag(mode.etag) : "";
        if (etag === "") {
          throw new PreconditionFailedError(`put ${JSON.stringify(key)}: update needs a non-empty etag`, { key });
        }
        input.IfMatch = etag;
        break;
      }
      default:
        throw new NotImplementedError(`put mode ${JSON.stringify((mode as PutMode).kind)} is not supported`, { key });
    }
    throwIfAborted(signal, key);

    const conditional: ConditionalMode | undefined =
      mode.kind === "create" ? { kind: "create" } : mode.kind === "update" ? { kind: "update", etag: input.IfMatch! } : undefined;
    // Set once an attempt's outcome was unknown; from then on a refusal (412)
    // may be the echo of our own earlier attempt and must be checked too.
    let ambiguous = false;
    let sentMd5: string | undefined;

    return this.#withRetry("put", key, signal, async () => {
      const { client, sdk } = await this.#io();
      try {
        const output = await client.send(
          new sdk.PutObjectCommand(input),
          sendOptions(signal),
        );
        return { etag: this.#etag(key, output.ETag) };
      } catch (error) {
        const failure = classifyS3Error(error, signal);
        if (conditional === undefined || failure.kind === "aborted") {
          throw toStorageError(failure, { key, operation: "put" });
        }
        const unknown = failure.kind === "conflict" || failure.kind === "unavailable";
        const refused =
          failure.kind === "precondition" || (conditional.kind === "update" && failure.kind === "notFound");
        if (unknown) ambiguous = true;
        if (!unknown && !(refused && ambiguous)) {
          throw refused
            ? this.#putError(conditional, failure, key)
            : toStorageError(failure, { key, operation: `put (${conditional.kind})` });
        }

        // Outcome unknown: re-read and decide. A failing HEAD throws (and is
        // retried as a whole: re-sending is safe because `ambiguous` is set).
        const current = await this.#headOnce(key, signal);
        sentMd5 ??= md5Hex(bytes);
        const outcome = resolveOutcome(conditional, sentMd5, current);
        if (outcome.kind === "landed") return { etag: outcome.etag };
        // Anything else cannot be decided (see s3-outcome.ts): never a definite failure.
        if (outcome.kind === "unknown" || refused) throw this.#unknownOutcome(conditional, failure, key, current);
        // Not landed and nobody else wrote: the same write may be tried again.
        const message = `S3 put ${JSON.stringify(key)} (${conditional.kind}) did not land: ${failure.summary}; the object is unchanged`;
        throw failure.kind === "conflict"
          ? new ConflictError(message, { key, cause: error })
          : new UnavailableError(message, { key, cause: error });
      }
    });
  }

  async delete(key: string, options: CallOptions = {}): Promise<void> {
    validateKey(key);
    const { signal } = options;
    throwIfAborted(signal, key);
    await this.#withRetry("delete", key, signal, async () => {
      const { client, sdk } = await this.#io();
      try {
        await client.send(
          new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
          sendOptions(signal),
        );
      } catch (error) {
        const failure = classifyS3Error(error, signal);
        if (failure.kind === "notFound") return; // idempotent
        throw toStorageError(failure, { key, operation: "delete" });
      }
    });
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectMeta> {
    validatePrefix(prefix);
    const { signal, startAfter } = options;
    if (startAfter !== undefined && typeof startAfter !== "string") {
      throw new InternalError(`list startAfter must be a string, got ${typeof startAfter}`);
    }
    const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(options.pageSize ?? MAX_PAGE_SIZE) || MAX_PAGE_SIZE));
    throwIfAborted(signal, prefix);
    let token: string | undefined;
    let first = true;
    const { client, sdk } = await this.#io();
    do {
      const request = new sdk.ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: this.prefix + prefix,
        MaxKeys: pageSize,
        // Once paging, the continuation token carries the position.
        ...(first && startAfter !== undefined && startAfter !== "" ? { StartAfter: this.prefix + startAfter } : {}),
        ...(token !== undefined ? { ContinuationToken: token } : {}),
      });
      const page = await this.#withRetry("list", prefix, signal, async () => {
        try {
          return await client.send(request, sendOptions(signal));
        } catch (error) {
          throw mapS3Error(error, { key: prefix, operation: "list", signal });
        }
      });
      first = false;
      for (const item of page.Contents ?? []) {
        throwIfAborted(signal, prefix);
        const fullKey = item.Key;
        if (fullKey === undefined || !fullKey.startsWith(this.prefix)) {
          throw new InternalError(`S3 list returned a key outside the prefix: ${JSON.stringify(fullKey)}`);
        }
        const key = fullKey.slice(this.prefix.length);
        yield this.#meta(key, item.ETag, item.Size ?? 0, item.LastModified);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && token === undefined) {
        throw new InternalError("S3 list page is truncated but has no continuation token");
      }
    } while (token !== undefined);
  }

  // ---------------------------------------------------------------- helpers

  #withRetry<T>(operation: string, key: string | undefined, signal: AbortSignal | undefined, fn: () => Promise<T>) {
    return retry(fn, {
      policy: this.#policy,
      isRetryable,
      sleep: this.#sleep,
      random: this.#random,
      signal,
      key,
      onRetry:
        this.#onRetry === undefined
          ? undefined
          : ({ attempt, delayMs, error }) =>
              this.#onRetry?.({ operation, key, attempt, delayMs, error: error as StorageError }),
    });
  }

  /** One HeadObject; null when absent; mapped errors otherwise. */
  async #headOnce(key: string, signal: AbortSignal | undefined): Promise<ObjectMeta | null> {
    const { client, sdk } = await this.#io();
    try {
      const output = await client.send(
        new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
        sendOptions(signal),
      );
      return this.#meta(key, output.ETag, output.ContentLength ?? 0, output.LastModified);
    } catch (error) {
      const failure = classifyS3Error(error, signal);
      if (failure.kind === "notFound") return null;
      throw toStorageError(failure, { key, operation: "head" });
    }
  }

  /** A 416 answer: the range starts at or past the end. Answer with no bytes. */
  async #emptyRange(key: string, offset: number, signal: AbortSignal | undefined, cause: unknown): Promise<GetResult> {
    const meta = await this.#headOnce(key, signal);
    if (meta === null) throw new NotFoundError(`S3 get ${JSON.stringify(key)}: no such object`, { key, cause });
    if (offset >= meta.size) return { bytes: EMPTY, meta };
    // The object grew between the GET and the HEAD: read again.
    throw new UnavailableError(`S3 get ${JSON.stringify(key)}: object changed during a ranged read`, { key, cause });
  }

  async #readBody(body: unknown, key: string, signal: AbortSignal | undefined): Promise<Uint8Array> {
    if (body === undefined || body === null) return EMPTY;
    const stream = body as { transformToByteArray?: () => Promise<Uint8Array>; destroy?: (error?: Error) => void };
    if (typeof stream.transformToByteArray !== "function") {
      throw new InternalError(`S3 get ${JSON.stringify(key)}: unexpected response body type`, { key });
    }
    // The SDK stops watching the signal once headers arrived; cut the body
    // stream ourselves so an abort ends a long read promptly.
    const onAbort = () => stream.destroy?.(new Error("aborted by caller"));
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await stream.transformToByteArray();
    } catch (error) {
      throw mapS3Error(error, { key, operation: "get (reading body)", signal });
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  #etag(key: string, etag: string | undefined): string {
    if (etag === undefined || etag === "") {
      throw new InternalError(`S3 answered without an ETag for ${JSON.stringify(key)}`, { key });
    }
    return unquoteEtag(etag);
  }

  #meta(key: string, etag: string | undefined, size: number, lastModified: Date | undefined): ObjectMeta {
    return { key, etag: this.#etag(key, etag), size, lastModified: lastModified ?? new Date(0) };
  }

  #unknownOutcome(mode: ConditionalMode, failure: S3Failure, key: string, current: ObjectMeta | null): OutcomeUnknownError {
    const found = current === null ? "the key is absent" : `the key holds etag ${current.etag}`;
    const expected = mode.kind === "create" ? "" : ` (expected ${mode.etag})`;
    return new OutcomeUnknownError(
      `S3 put ${JSON.stringify(key)} (${mode.kind}): outcome unknown: an attempt's answer was lost (${failure.summary}) and ${found}${expected}, ` +
        "which is what a write that did not land and a write that landed and was then replaced both leave; re-read and decide",
      { key, cause: failure.error },
    );
  }

  #putError(mode: ConditionalMode, failure: S3Failure, key: string): StorageError {
    const init = { key, cause: failure.error };
    return mode.kind === "create"
      ? new AlreadyExistsError(`S3 put ${JSON.stringify(key)} (create): the key already exists`, init)
      : new PreconditionFailedError(
          `S3 put ${JSON.stringify(key)} (update): the etag is no longer ${JSON.stringify(mode.etag)} or the key is gone`,
          init,
        );
  }
}
