/**
 * A tour of the storage layer every Skerry process coordinates through, on
 * the embedded local-filesystem provider (or S3 when S3_BUCKET is set):
 * create-only writes, compare-and-swap updates racing in parallel, listing,
 * and a lost answer injected by the fault wrapper.
 *
 * Run: pnpm demo   (data goes to ./.skerry-data, or SKERRY_DATA_DIR)
 */
import { resolve } from "node:path";
import {
  FaultInjectingStorage,
  isAlreadyExists,
  isPreconditionFailed,
  LocalFsStorage,
  S3Storage,
  type StorageProvider,
} from "@skerry/storage-providers";

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decode = <T>(bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as T;

function openStorage(): StorageProvider {
  if (process.env.S3_BUCKET) {
    return S3Storage.fromEnv(process.env, { prefix: `skerry-demo/${Date.now()}/` });
  }
  // pnpm runs scripts in the package directory; INIT_CWD is where the user typed the command.
  const root = resolve(process.env.INIT_CWD ?? process.cwd(), process.env.SKERRY_DATA_DIR ?? ".skerry-data");
  return new LocalFsStorage({ root });
}

const storage = openStorage();
const run = new Date().toISOString().replace(/[:.]/g, "-");
const base = `demo/${run}`;
console.log(`Skerry storage tour on ${storage.name}\n`);

// 1. Create-only writes: the primitive behind immutable, numbered manifests.
await storage.put(`${base}/manifests/00000001.json`, encode({ version: 1, docs: 0 }), { mode: { kind: "create" } });
try {
  await storage.put(`${base}/manifests/00000001.json`, encode({ version: 1, docs: 99 }), { mode: { kind: "create" } });
} catch (error) {
  if (!isAlreadyExists(error)) throw error;
  console.log("1. A second writer of manifest 1 is refused (AlreadyExists): exactly one commit wins.");
}

// 2. Compare-and-swap: 8 concurrent writers, 10 increments each, none lost.
const counter = `${base}/counter.json`;
await storage.put(counter, encode({ value: 0 }), { mode: { kind: "create" } });
let retries = 0;
await Promise.all(
  Array.from({ length: 8 }, async (_, writer) => {
    for (let n = 0; n < 10; n++) {
      for (;;) {
        const { bytes, meta } = await storage.get(counter);
        const { value } = decode<{ value: number }>(bytes);
        try {
          await storage.put(counter, encode({ value: value + 1, writer }), { mode: { kind: "update", etag: meta.etag } });
          break;
        } catch (error) {
          if (!isPreconditionFailed(error)) throw error;
          retries++;
        }
      }
    }
  }),
);
const final = decode<{ value: number }>((await storage.get(counter)).bytes);
console.log(`2. 8 writers x 10 compare-and-swap increments: counter = ${final.value} (${retries} lost races retried).`);

// 3. Listing in key order.
for (let v = 2; v <= 4; v++) {
  await storage.put(`${base}/manifests/${String(v).padStart(8, "0")}.json`, encode({ version: v }), {
    mode: { kind: "create" },
  });
}
const listed: string[] = [];
for await (const meta of storage.list(`${base}/manifests/`)) listed.push(`${meta.key.split("/").pop()} (${meta.size} B)`);
console.log(`3. Manifests listed in order: ${listed.join(", ")}`);

// 4. A write that lands but whose answer is lost: the caller must re-read to know.
const faulty = new FaultInjectingStorage(storage).failWhen((call) => call.op === "put", { when: "after" });
const lost = `${base}/lost-answer.json`;
const outcome = await faulty.put(lost, encode({ hello: "world" }), { mode: { kind: "create" } }).then(
  () => "acknowledged",
  (error: { code: string }) => `failed with ${error.code}`,
);
const landed = (await storage.head(lost)) !== null;
console.log(`4. A create whose answer was lost ${outcome}, yet the object ${landed ? "landed" : "did not land"}: re-read decides.`);

console.log(`\nObjects written under ${base}/ in ${storage.name}.`);
