/**
 * Corruption answers one API code, whoever detected it: the namespace
 * engine, a storage provider's own checksum, or the wal-engine. 500, logged
 * at error level (the server's stored bytes are wrong).
 */
import { describe, expect, it } from "vitest";
import { CorruptError } from "@skerry/namespace-engine";
import { CorruptError as StorageCorruptError } from "@skerry/storage-providers";
import { HashMismatchError, WalCorruptError } from "@skerry/wal-engine";
import { mapError } from "../src/http/api-error.ts";

describe("mapError: corruption", () => {
  const key = "acme/p/ns/docs/superfiles/x.tombstones";
  const cases: readonly [string, Error][] = [
    ["namespace-engine CorruptError", new CorruptError(`tombstone object ${key} is missing`, key)],
    ["storage-providers CorruptError (a CRC mismatch)", new StorageCorruptError(`object ${key} is corrupt`, { key })],
    ["wal-engine WalCorruptError", new WalCorruptError(`tombstone sidecar ${key}: truncated`, { key })],
    ["wal-engine HashMismatchError", new HashMismatchError(`arrow sidecar ${key} hashes to b`, { key, expected: "a", actual: "b" })],
  ];
  for (const [name, error] of cases) {
    it(`${name} is 500 Corrupt, logged as unexpected`, () => {
      const mapped = mapError(error);
      expect(mapped.status).toBe(500);
      expect(mapped.body.error.code).toBe("Corrupt");
      expect(mapped.unexpected).toBe(true);
    });
  }
});
