/**
 * Importing @skerry/wal-format must not load apache-arrow (about 150
 * modules, a third of the package's import time): only encoding or decoding
 * a row batch loads it, so a process that only queries compacted indexes
 * never does. A fresh Node process (the package's source entry) records
 * every Arrow module it loads; see fixtures/arrow-load-probe.ts.
 */
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const PROBE = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "arrow-load-probe.ts");

interface Probe {
  before: { hook: string[]; cache: string[]; entries: number };
  after: { hook: string[]; cache: string[]; rows: number };
}

describe("loading apache-arrow", () => {
  it("should not load it on import nor for the other codecs, only on the first row batch", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--conditions=@skerry/source", "--import", "tsx", PROBE], {
      cwd: dirname(PROBE),
      timeout: 60_000,
    });
    const probe = JSON.parse(stdout.trim().split("\n").at(-1) as string) as Probe;
    expect(probe.before).toEqual({ hook: [], cache: [], entries: 1 });
    expect(probe.after.rows).toBe(1);
    expect(probe.after.hook.length + probe.after.cache.length).toBeGreaterThan(0);
  }, 90_000);
});
