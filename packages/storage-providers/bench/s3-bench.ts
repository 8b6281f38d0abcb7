/**
 * S3Storage against the raw SDK: 4 KiB create, update and get, and a list of
 * 100 keys, each beside the same request sent through the same S3Client
 * directly (conditional headers included, so both sides do the same work on
 * the server). The goal is S3Storage within 1.2x of the raw SDK call: the
 * provider's own work (key checks, error mapping, retry wrapper, etag
 * normalization) must be noise next to a network round trip.
 *
 *   node --conditions=@skerry/source --import tsx bench/s3-bench.ts
 *
 * Needs S3_ENDPOINT/S3_BUCKET/credentials (e.g. under scripts/s3/with-s3.sh);
 * skips with a message otherwise. SKERRY_BENCH_S3_OPS sets the operations per
 * side (default 300). Everything is written under a fresh prefix, deleted
 * at the end.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { S3Storage } from "../src/index.ts";
import { compare, report } from "./harness.ts";

const SIZE = 4096;
const LIST_KEYS = 100;
const GOAL = 1.2;

export interface S3BenchOptions {
  /** Operations per side for create, update and get; default 300. */
  ops?: number;
  /** Listings per side; default 100. */
  lists?: number;
}

async function deleteAll(storage: S3Storage): Promise<void> {
  const keys: string[] = [];
  for await (const meta of storage.list("")) keys.push(meta.key);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < keys.length) await storage.delete(keys[next++]!);
    }),
  );
}

/**
 * Benchmarks `storage` against raw calls through `client` on `bucket`.
 * `storage` must have a non-empty prefix of its own: the raw side writes
 * beside it and everything under it is deleted at the end.
 */
export async function benchS3(storage: S3Storage, client: S3Client, bucket: string, options: S3BenchOptions = {}) {
  const ops = options.ops ?? 300;
  const lists = options.lists ?? 100;
  const raw = `${storage.prefix}raw/`;
  const payload = randomBytes(SIZE);
  console.log(`s3 (${storage.name}), ${ops} ops of ${SIZE} B each, sequential; list of ${LIST_KEYS} keys x ${lists}`);

  try {
    // Warm both paths (connections, credentials, lazy SDK modules).
    for (let i = 0; i < 10; i++) {
      await storage.put(`warm/${i}`, payload);
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${raw}warm/${i}`, Body: payload }));
    }

    report(
      "create 4 KiB",
      "S3Storage",
      "raw PutObject If-None-Match",
      await compare(
        ops,
        6,
        (i) => storage.put(`p/c${i}`, payload, { mode: { kind: "create" } }),
        (i) => client.send(new PutObjectCommand({ Bucket: bucket, Key: `${raw}c${i}`, Body: payload, IfNoneMatch: "*" })),
      ),
      GOAL,
    );

    let etag = (await storage.put("p/u", payload)).etag;
    const first = await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${raw}u`, Body: payload }));
    let rawEtag = first.ETag!.replaceAll('"', "");
    report(
      "update 4 KiB",
      "S3Storage",
      "raw PutObject If-Match",
      await compare(
        ops,
        6,
        async (i) => {
          payload[0] = i & 0xff; // a new body per write, so every etag changes
          etag = (await storage.put("p/u", payload, { mode: { kind: "update", etag } })).etag;
        },
        async (i) => {
          payload[0] = i & 0xff;
          const out = await client.send(
            new PutObjectCommand({ Bucket: bucket, Key: `${raw}u`, Body: payload, IfMatch: rawEtag }),
          );
          rawEtag = out.ETag!.replaceAll('"', "");
        },
      ),
      GOAL,
    );

    report(
      "get 4 KiB",
      "S3Storage",
      "raw GetObject",
      await compare(
        ops,
        6,
        (i) => storage.get(`p/c${i}`),
        async (i) => {
          const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${raw}c${i}` }));
          return out.Body!.transformToByteArray();
        },
      ),
      GOAL,
    );

    for (let i = 0; i < LIST_KEYS; i++) {
      const key = `l/${String(i).padStart(4, "0")}`;
      await storage.put(key, payload.subarray(0, 16));
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${raw}${key}`, Body: payload.subarray(0, 16) }));
    }
    report(
      `list ${LIST_KEYS} keys`,
      "S3Storage",
      "raw ListObjectsV2",
      await compare(
        lists,
        4,
        async () => {
          let n = 0;
          for await (const _ of storage.list("l/")) n++;
          if (n !== LIST_KEYS) throw new Error(`listed ${n} keys, expected ${LIST_KEYS}`);
        },
        async () => {
          const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${raw}l/` }));
          if (out.Contents?.length !== LIST_KEYS) throw new Error("raw listing is incomplete");
        },
      ),
      GOAL,
    );
  } finally {
    await deleteAll(storage);
  }
}

/** Runs the benchmark on the server described by the environment (see S3Storage.fromEnv). */
export async function benchS3FromEnv(options: S3BenchOptions = {}): Promise<void> {
  if (!process.env["S3_ENDPOINT"]) {
    console.log("s3: skipped (S3_ENDPOINT is not set; run under scripts/s3/with-s3.sh to include it)");
    return;
  }
  const env = process.env["SKERRY_BENCH_S3_OPS"];
  const storage = S3Storage.fromEnv(process.env, { prefix: `skerry-bench/${randomUUID()}/` });
  try {
    await benchS3(storage, await storage.getClient(), storage.bucket, env === undefined ? options : { ops: Number(env), ...options });
  } finally {
    storage.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchS3FromEnv();
}
