/**
 * The S3 test gate every package's S3 suites share: whether to run, a fresh
 * `S3Storage` under a unique prefix per test run, and the clean-up.
 *
 *     const s3 = s3TestTarget("namespace-engine-query");
 *     afterAll(() => s3.cleanup());
 *     describe.skipIf(!s3.shouldRun)("... on the real S3 server", () => {
 *       it("...", async () => {
 *         const storage = s3.open();   // throws under CI when S3 is missing
 *       });
 *     });
 *
 * Rule: S3 suites run whenever `S3_ENDPOINT` is set. Without it they are
 * skipped, except under CI (`CI` set), where they run and `open()` fails
 * loudly, so a CI run can never silently skip them.
 */
import { randomUUID } from "node:crypto";
import { S3Storage } from "../s3-storage.ts";

export interface S3TestTarget {
  /** `S3_ENDPOINT` is set. */
  readonly configured: boolean;
  /** Configured, or under CI (where a missing S3 must fail, not skip). */
  readonly shouldRun: boolean;
  /** This run's key prefix inside the bucket. */
  readonly prefix: string;
  /** A provider under the run's prefix (plus `sub`, if given); throws when S3 is not configured. */
  open(sub?: string): S3Storage;
  /** Deletes everything the run wrote and closes the clients. */
  cleanup(): Promise<void>;
}

export function s3TestTarget(scope: string, env: NodeJS.ProcessEnv = process.env): S3TestTarget {
  const configured = Boolean(env["S3_ENDPOINT"]);
  const prefix = `skerry-tests/${scope}/${Date.now().toString(36)}-${randomUUID().slice(0, 8)}/`;
  const clients: S3Storage[] = [];
  return {
    configured,
    shouldRun: configured || Boolean(env["CI"]),
    prefix,
    open(sub = "") {
      if (!configured) {
        throw new Error("S3 is not configured in CI: S3_ENDPOINT missing (run the tests under scripts/s3/with-s3.sh)");
      }
      const storage = S3Storage.fromEnv(env, { prefix: `${prefix}${sub}` });
      clients.push(storage);
      return storage;
    },
    async cleanup() {
      for (const client of clients.splice(0)) {
        const keys: string[] = [];
        for await (const meta of client.list("")) keys.push(meta.key);
        await Promise.all(keys.map((key) => client.delete(key)));
        client.close();
      }
    },
  };
}
