/**
 * LocalFsStorage against the raw filesystem: 4 KiB create, update, get and
 * list, each beside the plain Node fs loop that gives the same guarantee
 * (for writes: write + fsync + rename + fsync of the directory; the brief's
 * goal is create within 1.5x of that loop).
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalFsStorage } from "../src/index.ts";
import { compare, report } from "./harness.ts";

const SIZE = 4096;
const OPS = Number(process.env.SKERRY_BENCH_OPS ?? 600);

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  await handle.sync();
  await handle.close();
}

/** The raw durable write: temp file, write, fsync, rename, fsync the directory. */
async function rawWrite(dir: string, tmpDir: string, name: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(tmpDir, `${name}.tmp`);
  const handle = await open(tmp, "w");
  await handle.write(bytes);
  await handle.sync();
  await handle.close();
  await rename(tmp, join(dir, name));
  await fsyncDir(dir);
}

export async function benchLocalFs(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "skerry-bench-"));
  try {
    const storage = new LocalFsStorage({ root: join(root, "store") });
    const rawDir = join(root, "raw", "objects");
    const rawTmp = join(root, "raw", "tmp");
    await mkdir(rawDir, { recursive: true });
    await mkdir(rawTmp, { recursive: true });
    await storage.put("warm/up", randomBytes(SIZE)); // creates the reserved dirs
    await mkdir(join(root, "store", "objects"), { recursive: true });
    const payload = randomBytes(SIZE);
    console.log(`local-fs (${storage.root}), ${OPS} ops of ${SIZE} B each, sequential`);

    report(
      "create 4 KiB",
      "LocalFsStorage",
      "raw write+fsync+rename+fsync(dir)",
      await compare(
        OPS,
        6,
        (i) => storage.put(`objects/c${i}`, payload, { mode: { kind: "create" } }),
        (i) => rawWrite(rawDir, rawTmp, `c${i}`, payload),
      ),
      1.5,
    );

    let etag = (await storage.put("objects/u-counter", payload)).etag;
    report(
      "update 4 KiB",
      "LocalFsStorage",
      "raw write+fsync+rename+fsync(dir)",
      await compare(
        OPS,
        6,
        async () => {
          etag = (await storage.put("objects/u-counter", payload, { mode: { kind: "update", etag } })).etag;
        },
        () => rawWrite(rawDir, rawTmp, "u-counter", payload),
      ),
    );

    report(
      "get 4 KiB",
      "LocalFsStorage",
      "raw readFile",
      await compare(
        OPS,
        6,
        (i) => storage.get(`objects/c${i % OPS}`),
        (i) => readFile(join(rawDir, `c${i % OPS}`)),
      ),
    );

    const listRounds = 20;
    report(
      `list ${OPS} keys`,
      "LocalFsStorage",
      "raw readdir+stat each",
      await compare(
        listRounds,
        4,
        async () => {
          let n = 0;
          for await (const _ of storage.list("objects/c")) n++;
          if (n !== OPS) throw new Error(`listed ${n}`);
        },
        async () => {
          const names = (await readdir(rawDir)).filter((n) => n.startsWith("c")).sort();
          for (const name of names) await stat(join(rawDir, name));
        },
      ),
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchLocalFs();
