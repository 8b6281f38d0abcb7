/**
 * Importing @skerry/storage-providers must not load the AWS SDK (a few
 * hundred ms of every CLI call and cold start): only an S3Storage that is
 * used loads it. A fresh Node process (the package's source entry, through
 * the `@skerry/source` condition) records every SDK module it loads; see
 * fixtures/sdk-load-probe.ts.
 */
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const PROBE = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "sdk-load-probe.ts");

interface Probe {
  before: { hook: string[]; cache: string[] };
  after: { hook: string[]; cache: string[]; client: string };
}

describe("loading the AWS SDK", () => {
  it("should not load it for memory and local-fs storage, nor for constructing an S3Storage, only on its first use", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--conditions=@skerry/source", "--import", "tsx", PROBE],
      { cwd: dirname(PROBE), timeout: 60_000 },
    );
    const probe = JSON.parse(stdout.trim().split("\n").at(-1)!) as Probe;
    expect(probe.before).toEqual({ hook: [], cache: [] });
    // The detectors do see the SDK once an S3Storage is used.
    expect(probe.after.hook.some((url) => url.includes("/@aws-sdk/client-s3/"))).toBe(true);
    expect(probe.after.cache.length).toBeGreaterThan(0);
    expect(probe.after.client).toBe("function");
  }, 90_000);
});
