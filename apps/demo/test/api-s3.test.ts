/**
 * The HTTP API suite on a real S3 server (in CI and with
 * scripts/s3/with-s3.sh: Ceph RGW on loopback).
 *
 * Runs whenever S3_ENDPOINT is set. Without it: fails loudly under CI (a CI
 * that silently skips S3 proves nothing), skips with a note elsewhere.
 */
import { describe, it } from "vitest";
import { describeApiSuite } from "./support/api-suite.ts";
import { s3Store } from "./support/harness.ts";

const configured = Boolean(process.env["S3_ENDPOINT"]);

if (configured) {
  describeApiSuite("s3", s3Store);
} else if (process.env["CI"]) {
  describe("S3 configuration", () => {
    it("S3 must be configured in CI", () => {
      throw new Error("S3 is not configured in CI: S3_ENDPOINT missing (start one with scripts/s3/start-s3.sh and eval its exports)");
    });
  });
} else {
  // Keeps the file a (skipped) suite, so vitest reports it instead of "no test found".
  describe.skipIf(!configured)("HTTP API on s3 (S3_ENDPOINT not set)", () => {
    it("runs with scripts/s3/with-s3.sh", () => {});
  });
  console.log("[s3] S3_ENDPOINT not set: skipping the demo API suite on S3 (run it with scripts/s3/with-s3.sh pnpm --filter @skerry/demo test)");
}
