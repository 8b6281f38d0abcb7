/**
 * ColdRows: what a cold query returns of a stored row, read by range from
 * an index that is not loaded (ColdArrayReader): the id, attributes and
 * vector of a slot. The id, the row store offsets and the vector live in
 * the slot's cluster (../cluster-layout.ts; one block, fetched once and
 * cached with the other blocks), the attributes in the row store's 4 KiB
 * blocks, JSON exactly as `attributesOf(slot, "all")` returns them (exact
 * JSON in a format-8 index: its bigints are read back as bigints).
 */
import { Buffer } from "node:buffer";
import { parseExact } from "@skerry/wal-format";
import type { ColdArrayReader, ColdIndexFile } from "./cold-array-reader.ts";
import { CorruptStoredIndexError } from "../errors.ts";
import { type ClusterRows, readCluster } from "../cluster-layout.ts";
import { ownValue, setOwn } from "../own-property.ts";
import type { JsonValue } from "../query-document.ts";
import { strideOf } from "../vector-kernel.ts";

/** A slot's cluster: its rows and the slot of its first row. */
export interface SlotCluster {
  readonly start: number;
  readonly rows: ClusterRows;
}

/** Decoded clusters kept (their bytes stay in the reader's block cache too). */
const CLUSTERS_KEPT = 32;

export class ColdRows {
  readonly #reader: ColdArrayReader;
  readonly #clusters = new Map<string, Promise<SlotCluster>>();

  constructor(reader: ColdArrayReader) {
    this.#reader = reader;
  }

  /** The id of every slot in `slots` (clusters fetched in parallel). */
  async ids(file: ColdIndexFile, slots: Iterable<number>): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    const wanted = [...slots];
    const clusters = await Promise.all(wanted.map((slot) => this.#cluster(file, slot)));
    wanted.forEach((slot, i) => {
      const { start, rows } = clusters[i] as SlotCluster;
      const at = slot - start;
      const from = rows.idOffsets[at] as number;
      const to = rows.idOffsets[at + 1] as number;
      if (to < from || to > rows.idBytes.length) throw new CorruptStoredIndexError(`query index ${file.key}: id offsets out of range`, file.key);
      out.set(slot, Buffer.from(rows.idBytes.buffer, rows.idBytes.byteOffset, rows.idBytes.byteLength).toString("utf8", from, to));
    });
    return out;
  }

  /** The slot's attributes named (all of them for "all"), as `attributesOf` returns them. */
  async attributes(file: ColdIndexFile, slot: number, names: "all" | readonly string[]): Promise<Record<string, JsonValue>> {
    const { start, rows } = await this.#cluster(file, slot);
    const offsets = rows.rowOffsets;
    const rowStore = file.meta.rowStore;
    if (offsets === null || rowStore === undefined) throw new CorruptStoredIndexError(`query index ${file.key}: no row store`, file.key);
    const from = offsets[slot - start] as number;
    const to = offsets[slot - start + 1] as number;
    if (to < from) throw new CorruptStoredIndexError(`query index ${file.key}: row store offsets out of order`, file.key);
    const all = to === from ? {} : parseStoredRow(await this.#reader.bytes(file, `a${rowStore.$a}`, from, to - from), file.key, file.meta.exact === true);
    if (names === "all") return all;
    const out: Record<string, JsonValue> = {};
    for (const name of names) {
      const value = ownValue(all, name);
      if (value !== undefined) setOwn(out, name, value);
    }
    return out;
  }

  /** The slot's stored vector, or undefined (`vectorOf`). */
  async vector(file: ColdIndexFile, slot: number): Promise<number[] | undefined> {
    const vectors = file.meta.vectors;
    if (vectors === null) return undefined;
    const { start, rows } = await this.#cluster(file, slot);
    const at = slot - start;
    if (rows.missing === null || rows.missing[at] !== 0) return undefined;
    const row = await this.storedRow(file, { start, rows }, slot);
    return Array.from(row.subarray(0, vectors.dimension));
  }

  /**
   * The slot's full-precision row (stride floats) from its cluster (format
   * 3), or from the `vectors` section (format 4, whose clusters hold 8-bit
   * codes): the ~4 KiB block holding it.
   */
  async storedRow(file: ColdIndexFile, cluster: SlotCluster, slot: number): Promise<Float32Array> {
    const vectors = file.meta.vectors;
    if (vectors === null) throw new CorruptStoredIndexError(`query index ${file.key}: no vectors`, file.key);
    const stride = strideOf(vectors.dimension);
    const at = slot - cluster.start;
    if (cluster.rows.vectors !== null) return cluster.rows.vectors.subarray(at * stride, (at + 1) * stride);
    const bytes = await this.#reader.bytes(file, "vectors", slot * stride * 4, stride * 4);
    return new Float32Array(bytes.buffer, bytes.byteOffset, stride);
  }

  /** The cluster holding `slot` (one block, read and decoded): its rows and the slot of its first row. */
  clusterOf(file: ColdIndexFile, slot: number): Promise<SlotCluster> {
    return this.#cluster(file, slot);
  }

  /** The cluster number of every slot in `slots` (ascending), without reading the clusters. */
  async clusterNumbers(file: ColdIndexFile, slots: readonly number[]): Promise<Set<number>> {
    const clusters = file.meta.clusters;
    if (clusters === undefined) throw new CorruptStoredIndexError(`query index ${file.key}: no clusters`, file.key);
    const bounds = await this.#reader.array(file, clusters, "u32", 0, this.#reader.length(file, clusters, "u32"));
    const out = new Set<number>();
    let c = 0;
    for (const slot of slots) {
      while (c + 1 < bounds.length && (bounds[c + 1] as number) <= slot) c++;
      out.add(c);
    }
    return out;
  }

  /** Clusters (one block each) of the index. */
  clusterCount(file: ColdIndexFile): number {
    const clusters = file.meta.clusters;
    return clusters === undefined ? 0 : Math.max(0, this.#reader.length(file, clusters, "u32") - 1);
  }

  /** The cluster holding `slot`, read (one block) and decoded. */
  async #cluster(file: ColdIndexFile, slot: number): Promise<SlotCluster> {
    const meta = file.meta;
    const clusters = meta.clusters;
    if (clusters === undefined) throw new CorruptStoredIndexError(`query index ${file.key}: no clusters`, file.key);
    const bounds = await this.#reader.array(file, clusters, "u32", 0, this.#reader.length(file, clusters, "u32"));
    if (bounds.length < 2 || bounds[0] !== 0 || bounds[bounds.length - 1] !== meta.size) {
      throw new CorruptStoredIndexError(`query index ${file.key}: cluster boundaries do not span the rows`, file.key);
    }
    if (!(slot >= 0 && slot < meta.size)) throw new CorruptStoredIndexError(`query index ${file.key}: slot ${slot} is out of range`, file.key);
    // The last boundary <= slot.
    let lo = 0;
    let hi = bounds.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if ((bounds[mid] as number) <= slot) lo = mid;
      else hi = mid;
    }
    const start = bounds[lo] as number;
    const count = (bounds[lo + 1] as number) - start;
    if (count <= 0) throw new CorruptStoredIndexError(`query index ${file.key}: cluster boundaries are not ascending`, file.key);
    const id = `${file.key}\0${lo}`;
    let cluster = this.#clusters.get(id);
    if (cluster === undefined) {
      cluster = this.#readCluster(file, lo, start, count, bounds.length - 1);
      this.#clusters.set(id, cluster);
      cluster.catch(() => {
        if (this.#clusters.get(id) === cluster) this.#clusters.delete(id);
      });
      while (this.#clusters.size > CLUSTERS_KEPT) this.#clusters.delete(this.#clusters.keys().next().value as string);
    }
    return cluster;
  }

  async #readCluster(file: ColdIndexFile, lo: number, start: number, count: number, clusterCount: number): Promise<SlotCluster> {
    const meta = file.meta;
    const section = file.directory.section("clusters");
    if (section === undefined || section.blockCount !== clusterCount) throw new CorruptStoredIndexError(`query index ${file.key}: one block per cluster expected`, file.key);
    const bytes = await this.#reader.bytes(file, "clusters", section.blockStart(lo), section.blockEnd(lo) - section.blockStart(lo));
    const shape = {
      stride: meta.vectors === null ? 0 : strideOf(meta.vectors.dimension),
      positions: meta.sourcePositions !== null,
      rows: true,
      codes: meta.vectors?.codes === "sq8",
    };
    const rows = readCluster(bytes, shape, count);
    if (typeof rows === "string") throw new CorruptStoredIndexError(`query index ${file.key} does not decode: cluster ${lo}: ${rows}`, file.key);
    return { start, rows };
  }
}

/**
 * A stored row's attributes (row store JSON; `exact`: exact JSON, a format-8 index's, whose integers beyond 2^53-1
 * are bigints, wal-format exact-json.ts); damage is CorruptStoredIndexError.
 */
export function parseStoredRow(bytes: Uint8Array, key: string, exact = false): Record<string, JsonValue> {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    const value = exact ? parseExact(text) : (JSON.parse(text) as unknown);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, JsonValue>;
  } catch (cause) {
    throw new CorruptStoredIndexError(`query index ${key}: a row store entry is not JSON`, key, { cause });
  }
  throw new CorruptStoredIndexError(`query index ${key}: a row store entry is not an object`, key);
}
