/**
 * The one module that loads the AWS SDK (`@aws-sdk/client-s3`) at run time.
 *
 * Loading the SDK costs a few hundred milliseconds, so nothing imports this
 * module statically: S3Storage calls `loadS3Sdk()` on its first call and
 * every other module refers to the SDK by type only (`import type`). Using
 * `@skerry/storage-providers` for memory or local-fs storage never loads it.
 */
export { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
