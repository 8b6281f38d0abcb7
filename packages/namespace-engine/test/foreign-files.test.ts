/**
 * Files dropped into a namespace behind the engine's back (a README.txt in
 * manifests/, a .DS_Store, a truncated temp file) on local-fs: the namespace
 * stays readable and writable, compaction and repair work, and repair
 * reports the foreign keys instead of failing (or sweeping them).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalFsStorage } from "@skerry/storage-providers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeEngine } from "./support/harness.ts";

const NS = "acme/search/docs";
const NSROOT = ["acme", "search", "ns", "docs"];

describe("foreign files in a local-fs namespace", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "skerry-foreign-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function drop(parts: string[], content: string | Uint8Array): Promise<string> {
    await mkdir(join(root, ...parts.slice(0, -1)), { recursive: true });
    await writeFile(join(root, ...parts), content);
    return parts.join("/");
  }

  it("are skipped by reads, writes, compaction and repair, and reported by repair", async () => {
    const storage = new LocalFsStorage({ root });
    const engine = makeEngine(storage);
    await engine.createNamespace(NS);
    await engine.upsert(NS, [{ id: "a", attributes: { v: 1 } }, { id: "b", attributes: { v: 2 } }]);
    await engine.delete(NS, ["b"]);

    const foreign = [
      await drop([...NSROOT, "manifests", "README.txt"], "these are Skerry's manifests; do not edit\n"),
      await drop([...NSROOT, "manifests", ".DS_Store"], new Uint8Array([0, 0, 0, 1, 66, 117, 100, 49])),
      await drop([...NSROOT, "manifests", "00000000000000000003.json.tmp"], ""), // a truncated temp copy
      await drop([...NSROOT, "segments", ".DS_Store"], ""),
      await drop([...NSROOT, "log", "notes.txt"], "hello"),
      await drop([...NSROOT, "superfiles", "copy.tmp"], "SKERRY-OBJECT 1 01"),
      await drop([...NSROOT, "wal", "mutations", "README.txt"], "x"),
      await drop(["acme", "search", "ns", ".DS_Store"], ""),
    ].sort();

    // A fresh engine (nothing cached) reads, writes and compacts around them.
    const fresh = makeEngine(storage);
    expect((await fresh.get(NS, ["a", "b"])).map((d) => d?.id ?? null)).toEqual(["a", null]);
    const version = (await fresh.manifest(NS)).version;
    await fresh.upsert(NS, [{ id: "c", attributes: { v: 3 } }]);
    expect((await fresh.manifest(NS)).version).toBe(version + 1);
    expect(await fresh.listVersions(NS)).toContain(version + 1);
    await fresh.compact(NS, { force: true });
    expect((await fresh.scan(NS)).documents.map((d) => d.id)).toEqual(["a", "c"]);

    const report = await fresh.repair("acme", "search", { sweep: true, graceMs: 0 });
    expect(report.foreignKeys).toEqual(foreign);
    expect(report.live).toBe(1);
    // Never swept: every foreign file is still there, and the namespace still reads.
    for (const key of foreign) expect(await storage.head(key).catch((e: unknown) => (e as { code?: string }).code)).not.toBeNull();
    expect((await makeEngine(storage).scan(NS)).documents.map((d) => d.id)).toEqual(["a", "c"]);
  });
});
