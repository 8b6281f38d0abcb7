/**
 * Which store a CLI command works on: `--s3-bucket` (with `--s3-endpoint`,
 * `--s3-prefix`, `--s3-region`; credentials from AWS_* variables) or the S3_*
 * environment the server reads, else local-fs in `--data-dir` /
 * SKERRY_DATA_DIR / ./.skerry-data (the same defaults as the server, so the
 * CLI sees what `pnpm demo` wrote).
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { userCwd } from "../config.ts";
import { type OpenedStorage, openStorage } from "../storage/open-storage.ts";

export interface StorageFlags {
  dataDir?: string;
  s3Bucket?: string;
  s3Endpoint?: string;
  s3Prefix?: string;
  s3Region?: string;
}

export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    /** What to do about it. */
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** `create`: make a missing local data directory (commands that start something new); otherwise report it. */
export function openCliStorage(flags: StorageFlags, options: { create?: boolean } = {}, env: NodeJS.ProcessEnv = process.env): OpenedStorage {
  const merged: Record<string, string | undefined> = { ...env };
  if (flags.s3Bucket !== undefined) merged["S3_BUCKET"] = flags.s3Bucket;
  if (flags.s3Endpoint !== undefined) merged["S3_ENDPOINT"] = flags.s3Endpoint;
  if (flags.s3Prefix !== undefined) merged["S3_PREFIX"] = flags.s3Prefix;
  if (flags.s3Region !== undefined) merged["AWS_REGION"] = flags.s3Region;
  const dataDir = resolve(userCwd(env), flags.dataDir ?? (env["SKERRY_DATA_DIR"] || ".skerry-data"));
  if (!merged["S3_BUCKET"] && !options.create && !existsSync(dataDir)) {
    throw new CliError(`no data directory at ${dataDir}`, "start the server once with `pnpm demo`, or pass --data-dir <dir> (or --s3-bucket for S3)");
  }
  return openStorage(dataDir, merged);
}
