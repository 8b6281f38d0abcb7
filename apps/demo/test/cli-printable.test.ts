/**
 * What the CLI prints for engine values: bytes (a Uint8Array or a Buffer,
 * such as a manifest's carried batch) as their size and BLAKE3 hash, never
 * their contents; vectors as numbers; ids as hex.
 */
import { contentHash } from "@skerry/wal-format";
import { describe, expect, it } from "vitest";
import { toJson } from "../src/cli/printable.ts";

describe("CLI printing", () => {
  it("should print bytes as their size and hash, at any depth and from a Buffer too", () => {
    const data = new Uint8Array(100_000).map((_, i) => i % 251);
    const hash = contentHash(data);
    const printed = toJson({ containers: [{ inline: data, nested: { raw: Buffer.from(data) } }], top: data.subarray(0, 3) }, 2);
    expect(JSON.parse(printed)).toEqual({
      containers: [{ inline: { bytes: 100_000, blake3: hash }, nested: { raw: { bytes: 100_000, blake3: hash } } }],
      top: { bytes: 3, blake3: contentHash(data.subarray(0, 3)) },
    });
    expect(printed.split("\n").length).toBeLessThan(30);
    expect(JSON.parse(toJson(data))).toEqual({ bytes: 100_000, blake3: hash });
  });

  it("should print vectors as numbers and ids as 32 hex characters", () => {
    expect(JSON.parse(toJson({ vector: new Float32Array([0.5, 1]), indices: new Uint32Array([3]), id: 255n }))).toEqual({
      vector: [0.5, 1],
      indices: [3],
      id: "000000000000000000000000000000ff",
    });
  });
});
