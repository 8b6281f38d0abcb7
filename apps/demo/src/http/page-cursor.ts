/**
 * Page cursors of the /v1 listings (namespaces, versions, keys, document
 * scans, WAL entries): opaque to callers, validated here.
 *
 * A cursor is `<payload>.<check>`: the payload is base64url JSON
 * `{ "v": 1, "l": listing, "s": scope, "p": position }` (the listing's
 * name, what it lists, e.g. `org/project`, and the last item of the page it
 * follows: a position, not an offset, so items added or removed meanwhile
 * never shift a page), the check the first 16 base64url characters of the
 * payload's SHA-256. It is not a secret or a signature: a caller could make
 * one, but could only ask for what the listing's own parameters already
 * allow. The check catches a cursor cut short or altered in transit; the
 * listing and scope catch one passed to another listing; the position is
 * validated by the listing (`decodeCursor`'s `position` parser). Every
 * failure is a 400 `InvalidCursor`.
 */
import { createHash } from "node:crypto";
import { ApiError } from "./api-error.ts";

export type Listing = "namespaces" | "versions" | "keys" | "documents" | "wal";

/** Longest cursor accepted (a document id is at most 512 characters). */
export const MAX_CURSOR_LENGTH = 2_048;
const FORMAT = 1;

function check(payload: string): string {
  return createHash("sha256").update(payload).digest("base64url").slice(0, 16);
}

export function encodeCursor(listing: Listing, scope: string, position: unknown): string {
  const payload = Buffer.from(JSON.stringify({ v: FORMAT, l: listing, s: scope, p: position }), "utf8").toString("base64url");
  return `${payload}.${check(payload)}`;
}

function invalid(message: string): never {
  throw new ApiError("InvalidCursor", `invalid cursor: ${message}; pass back a nextCursor of this listing unchanged, or leave cursor out to start over`, {
    param: "cursor",
  });
}

/**
 * The position a cursor of `listing` over `scope` resumes from, checked by
 * `position` (which returns it typed, or undefined when it is not one).
 */
export function decodeCursor<P>(cursor: string, listing: Listing, scope: string, position: (p: unknown) => P | undefined): P {
  if (cursor.length > MAX_CURSOR_LENGTH) invalid(`longer than ${MAX_CURSOR_LENGTH} characters`);
  const dot = cursor.indexOf(".");
  const payload = dot < 0 ? "" : cursor.slice(0, dot);
  if (dot < 0 || !/^[A-Za-z0-9_-]+$/.test(payload) || cursor.slice(dot + 1) !== check(payload)) invalid("not a cursor this server made (malformed or altered)");
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    invalid("not a cursor this server made (malformed or altered)");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) invalid("not a cursor this server made");
  const fields = body as Record<string, unknown>;
  if (fields["v"] !== FORMAT) invalid(`unknown cursor format ${JSON.stringify(fields["v"])}`);
  if (fields["l"] !== listing || fields["s"] !== scope) invalid(`it belongs to another listing (${String(fields["l"])} of ${JSON.stringify(fields["s"])}), not ${listing} of ${JSON.stringify(scope)}`);
  const parsed = Object.hasOwn(fields, "p") ? position(fields["p"]) : undefined;
  if (parsed === undefined) invalid(`its position is not one of the ${listing} listing`);
  return parsed;
}

/** A positive safe integer, or undefined. */
export function positiveInteger(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 1 ? value : undefined;
}

/** A non-empty string of at most `max` characters, or undefined. */
export function boundedString(value: unknown, max: number): string | undefined {
  return typeof value === "string" && value.length >= 1 && value.length <= max ? value : undefined;
}
