/**
 * Loads `internal/s3-sdk.ts` (and with it the AWS SDK) once, on first use.
 * See s3-sdk.ts for why the SDK is never imported statically.
 */
import { InternalError } from "../errors.ts";

export type S3Sdk = typeof import("./s3-sdk.ts");

let loading: Promise<S3Sdk> | undefined;

/** The SDK's classes; the first call imports them, later calls reuse them. A failed load is retried. */
export function loadS3Sdk(): Promise<S3Sdk> {
  loading ??= import("./s3-sdk.ts").catch((error: unknown) => {
    loading = undefined;
    throw new InternalError(`the AWS SDK (@aws-sdk/client-s3) could not be loaded: ${(error as Error)?.message ?? String(error)}`, {
      cause: error,
    });
  });
  return loading;
}
