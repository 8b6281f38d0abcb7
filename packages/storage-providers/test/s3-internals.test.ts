/**
 * The pure pieces behind S3Storage, without a server: error classification,
 * etag normalization, unknown-outcome decisions and HTTP ranges.
 */
import { S3ServiceException } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { isAlreadyExists, isInternal, isNotFound, isPreconditionFailed, AlreadyExistsError } from "@skerry/storage-providers";
import { md5Hex } from "../src/internal/md5.ts";
import { classifyS3Error, mapS3Error, toStorageError } from "../src/internal/s3-errors.ts";
import { sameEtag, unquoteEtag } from "../src/internal/s3-etag.ts";
import { resolveOutcome } from "../src/internal/s3-outcome.ts";
import { parseContentRange, toHttpRange } from "../src/internal/s3-range.ts";

function s3Error(status: number, name: string): S3ServiceException {
  return new S3ServiceException({ name, $fault: status >= 500 ? "server" : "client", $metadata: { httpStatusCode: status } });
}

describe("classifyS3Error", () => {
  it("should classify S3 answers by status and code", () => {
    const cases: Array<[unknown, string]> = [
      [s3Error(404, "NoSuchKey"), "notFound"],
      [s3Error(404, "NotFound"), "notFound"],
      [s3Error(412, "PreconditionFailed"), "precondition"],
      [s3Error(409, "ConditionalRequestConflict"), "conflict"],
      [s3Error(416, "InvalidRange"), "invalidRange"],
      [s3Error(500, "InternalError"), "unavailable"],
      [s3Error(500, "UnknownError"), "unavailable"],
      [s3Error(502, "BadGateway"), "unavailable"],
      [s3Error(503, "SlowDown"), "unavailable"],
      [s3Error(504, "GatewayTimeout"), "unavailable"],
      [s3Error(429, "TooManyRequests"), "unavailable"],
      [s3Error(400, "RequestTimeout"), "unavailable"],
      [s3Error(400, "KeyTooLongError"), "invalidKey"],
      [s3Error(501, "NotImplemented"), "notImplemented"],
      [s3Error(403, "AccessDenied"), "internal"],
      [s3Error(400, "InvalidArgument"), "internal"],
    ];
    for (const [error, kind] of cases) expect(classifyS3Error(error).kind, String(error)).toBe(kind);
  });

  it("should classify lost connections and timeouts as unavailable, also when wrapped in a cause", () => {
    for (const code of ["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "EAI_AGAIN"]) {
      expect(classifyS3Error(Object.assign(new Error(code), { code })).kind).toBe("unavailable");
    }
    const wrapped = new Error("request failed", { cause: Object.assign(new Error("reset"), { code: "ECONNRESET" }) });
    expect(classifyS3Error(wrapped).kind).toBe("unavailable");
    expect(classifyS3Error(Object.assign(new Error("slow"), { name: "TimeoutError" })).kind).toBe("unavailable");
  });

  it("should classify an abort as aborted whatever the error looks like", () => {
    const abortError = Object.assign(new Error("The operation was aborted"), { name: "AbortError" });
    expect(classifyS3Error(abortError).kind).toBe("aborted");
    expect(classifyS3Error(s3Error(500, "InternalError"), AbortSignal.abort()).kind).toBe("aborted");
    expect(classifyS3Error(new Error("socket hang up"), AbortSignal.abort()).kind).toBe("aborted");
  });

  it("should classify anything unknown as internal", () => {
    expect(classifyS3Error(new Error("weird")).kind).toBe("internal");
    expect(classifyS3Error(undefined).kind).toBe("internal");
    expect(classifyS3Error("a string").kind).toBe("internal");
  });

  it("should summarize the status and the code for messages", () => {
    expect(classifyS3Error(s3Error(503, "SlowDown")).summary).toBe("HTTP 503 SlowDown");
    expect(classifyS3Error(Object.assign(new Error("x"), { code: "EPIPE" })).summary).toBe("EPIPE");
  });
});

describe("toStorageError and mapS3Error", () => {
  it("should keep the native error as cause and the key", () => {
    const native = s3Error(404, "NoSuchKey");
    const error = mapS3Error(native, { key: "a/b", operation: "get" });
    expect(isNotFound(error)).toBe(true);
    expect(error.key).toBe("a/b");
    expect(error.cause).toBe(native);
  });

  it("should let the caller decide what 412 and 404 mean for its put mode", () => {
    const precondition = classifyS3Error(s3Error(412, "PreconditionFailed"));
    const created = toStorageError(precondition, {
      key: "k",
      operation: "put",
      onPrecondition: (message) => new AlreadyExistsError(message, { key: "k" }),
    });
    expect(isAlreadyExists(created)).toBe(true);
    expect(isPreconditionFailed(toStorageError(precondition, { key: "k", operation: "put" }))).toBe(true);
  });

  it("should pass a storage error through unchanged", () => {
    const original = new AlreadyExistsError("x");
    expect(mapS3Error(original, { operation: "put" })).toBe(original);
  });

  it("should map an invalid range to Internal (S3Storage handles 416 itself)", () => {
    expect(isInternal(mapS3Error(s3Error(416, "InvalidRange"), { operation: "get" }))).toBe(true);
  });
});

describe("etags", () => {
  it("should strip surrounding quotes and a weak prefix, and nothing else", () => {
    expect(unquoteEtag('"abc"')).toBe("abc");
    expect(unquoteEtag('W/"abc"')).toBe("abc");
    expect(unquoteEtag("abc")).toBe("abc");
    expect(unquoteEtag('"abc-2"')).toBe("abc-2");
    expect(unquoteEtag('"')).toBe('"');
  });

  it("should compare etags ignoring quotes and hex case", () => {
    expect(sameEtag('"ABC"', "abc")).toBe(true);
    expect(sameEtag("abc", "abd")).toBe(false);
  });
});

describe("resolveOutcome", () => {
  const body = md5Hex(new TextEncoder().encode("mine"));
  const other = md5Hex(new TextEncoder().encode("theirs"));
  const base = md5Hex(new TextEncoder().encode("base"));

  it("should say a create landed when the stored etag is the MD5 of our body", () => {
    expect(resolveOutcome({ kind: "create" }, body, { etag: body })).toEqual({ kind: "landed", etag: body });
    expect(resolveOutcome({ kind: "create" }, body, { etag: `"${body.toUpperCase()}"` }).kind).toBe("landed");
  });

  it("should say a create did not land when the key is still absent", () => {
    expect(resolveOutcome({ kind: "create" }, body, null)).toEqual({ kind: "notLanded" });
  });

  it("should say a create's outcome is unknown when another body is stored (ours may have landed and been replaced)", () => {
    expect(resolveOutcome({ kind: "create" }, body, { etag: other })).toEqual({ kind: "unknown", current: { etag: other } });
  });

  it("should say an update landed, did not land (still at the expected etag), or has an unknown outcome", () => {
    const update = { kind: "update", etag: base } as const;
    expect(resolveOutcome(update, body, { etag: body }).kind).toBe("landed");
    expect(resolveOutcome(update, body, { etag: base }).kind).toBe("notLanded");
    // Our update landed, its answer was lost, and another writer updated over it before the
    // read-back: a third etag. Indistinguishable from a race we lost, so never "lost".
    expect(resolveOutcome(update, body, { etag: other })).toEqual({ kind: "unknown", current: { etag: other } });
    // Landed, then deleted by someone else: the key is gone.
    expect(resolveOutcome(update, body, null)).toEqual({ kind: "unknown", current: null });
  });

  it("should treat an update whose body equals the current content as landed (identical bodies are indistinguishable)", () => {
    expect(resolveOutcome({ kind: "update", etag: body }, body, { etag: body }).kind).toBe("landed");
  });
});

describe("HTTP ranges", () => {
  it("should turn byte ranges into inclusive Range headers", () => {
    expect(toHttpRange(undefined, "k")).toBeUndefined();
    expect(toHttpRange({ offset: 0, length: 1 }, "k")).toBe("bytes=0-0");
    expect(toHttpRange({ offset: 2, length: 5 }, "k")).toBe("bytes=2-6");
    expect(toHttpRange({ offset: 7 }, "k")).toBe("bytes=7-");
    expect(toHttpRange({ offset: 3, length: 0 }, "k")).toBe("empty");
  });

  it("should reject negative or fractional ranges with Internal before any I/O", () => {
    for (const range of [{ offset: -1 }, { offset: 1.5 }, { offset: 0, length: -2 }, { offset: 0, length: 0.5 }]) {
      let caught: unknown;
      try {
        toHttpRange(range, "k");
      } catch (error) {
        caught = error;
      }
      expect(isInternal(caught), JSON.stringify(range)).toBe(true);
    }
  });

  it("should read the full size from Content-Range", () => {
    expect(parseContentRange("bytes 2-6/10")).toBe(10);
    expect(parseContentRange("bytes */10")).toBe(10);
    expect(parseContentRange(undefined)).toBeUndefined();
    expect(parseContentRange("bytes 0-1/*")).toBeUndefined();
  });
});
