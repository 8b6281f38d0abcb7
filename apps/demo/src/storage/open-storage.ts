/**
 * Opens the store a server or CLI run works on: S3 when S3_BUCKET is set
 * (S3Storage.fromEnv: S3_ENDPOINT, S3_PREFIX, AWS_REGION, credentials,
 * S3_FORCE_PATH_STYLE), otherwise LocalFsStorage in the data directory.
 */
import { LocalFsStorage, S3Storage, type StorageProvider } from "@skerry/storage-providers";

export interface OpenedStorage {
  readonly storage: StorageProvider;
  /** Human-readable location, e.g. `local-fs /home/me/.skerry-data` or `s3 bucket/prefix`. */
  readonly description: string;
  readonly kind: "local-fs" | "s3";
  close(): void;
}

type Env = Readonly<Record<string, string | undefined>>;

export function openStorage(dataDir: string, env: Env = process.env): OpenedStorage {
  if (env["S3_BUCKET"]) {
    const storage = S3Storage.fromEnv(env);
    const prefix = env["S3_PREFIX"] ? `/${env["S3_PREFIX"]}` : "";
    const where = env["S3_ENDPOINT"] ? ` at ${env["S3_ENDPOINT"]}` : "";
    return { storage, kind: "s3", description: `s3 ${env["S3_BUCKET"]}${prefix}${where}`, close: () => storage.close() };
  }
  return { storage: new LocalFsStorage({ root: dataDir }), kind: "local-fs", description: `local-fs ${dataDir}`, close: () => {} };
}
