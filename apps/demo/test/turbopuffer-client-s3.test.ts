/**
 * The turbopuffer-compatible API with the official client, on a real S3
 * server (in CI and with scripts/s3/with-s3.sh). Runs whenever S3_ENDPOINT
 * is set; without it: fails under CI, skips with a note elsewhere.
 */
import { describe, it } from "vitest";
import { s3Store } from "./support/harness.ts";
import { describeTurbopufferSuite } from "./support/turbopuffer-suite.ts";
import { describeTurbopufferVectorsSuite } from "./support/turbopuffer-vectors-suite.ts";

const configured = Boolean(process.env["S3_ENDPOINT"]);

if (configured) {
  describeTurbopufferSuite("s3", s3Store);
  describeTurbopufferVectorsSuite("s3", s3Store);
} else if (process.env["CI"]) {
  describe("S3 configuration", () => {
    it("S3 must be configured in CI", () => {
      throw new Error("S3 is not configured in CI: S3_ENDPOINT missing (start one with scripts/s3/start-s3.sh and eval its exports)");
    });
  });
} else {
  describe.skipIf(!configured)("turbopuffer client on s3 (S3_ENDPOINT not set)", () => {
    it("runs with scripts/s3/with-s3.sh", () => {});
  });
  console.log("[s3] S3_ENDPOINT not set: skipping the turbopuffer client suite on S3");
}
