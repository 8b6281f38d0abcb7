/**
 * Importing @skerry/wal-format must not load roaring-wasm (it compiles its
 * WebAssembly when loaded) nor the native BLAKE3 addon: a process that only
 * reads (decoding sidecars goes through the portable decoder) never needs
 * the first, and a process pays for the second on its first hash. Both load
 * on first use. A fresh Node process (the package's source entry) records
 * what it loads; see fixtures/native-load-probe.ts.
 */
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { contentHash, encodeTombstoneSidecar } from "../src/index.ts";

const PROBE = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "native-load-probe.ts");

interface Probe {
  before: { loaded: string[]; decoded: number };
  after: { loaded: string[]; hash: number; encoded: boolean };
}

describe("loading roaring-wasm and the BLAKE3 addon", () => {
  it("should load neither on import nor to decode a sidecar, each on first use", async () => {
    const sidecar = Buffer.from(encodeTombstoneSidecar({ positions: [3, 7] })).toString("base64");
    const { stdout } = await promisify(execFile)(process.execPath, ["--conditions=@skerry/source", "--import", "tsx", PROBE, sidecar], {
      cwd: dirname(PROBE),
      timeout: 60_000,
    });
    const probe = JSON.parse(stdout.trim().split("\n").at(-1) as string) as Probe;
    expect(probe.before).toEqual({ loaded: [], decoded: 2 });
    expect(probe.after).toEqual({ loaded: ["blake-hash", "roaring-wasm"], hash: 64, encoded: true });
  }, 90_000);

  it("should hash the same through the lazily loaded addon", () => {
    expect(contentHash(new TextEncoder().encode("abc"))).toBe("6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
  });
});
