/**
 * MD5 of a byte buffer as lowercase hex.
 *
 * Not for security: S3 (and Ceph RGW) report the ETag of an object written by
 * one single-part PutObject (without SSE-KMS/SSE-C) as the MD5 of its bytes,
 * so comparing a stored ETag with the MD5 of the bytes we sent tells whether
 * OUR write is the one stored. See `s3-outcome.ts`.
 */
import { createHash } from "node:crypto";

export function md5Hex(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("hex");
}
