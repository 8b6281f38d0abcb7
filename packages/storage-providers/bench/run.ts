/**
 * `pnpm bench` for storage-providers: local-fs and the block cache always,
 * S3 when S3_ENDPOINT is configured.
 */
import { benchCache } from "./cache-bench.ts";
import { benchLocalFs } from "./local-fs-bench.ts";

await benchLocalFs();
await benchCache();
if (process.env.S3_ENDPOINT) {
  const { benchS3FromEnv } = await import("./s3-bench.ts");
  await benchS3FromEnv();
} else {
  console.log("s3: skipped (S3_ENDPOINT is not set; run under scripts/s3/with-s3.sh to include it)");
}
