/**
 * coldExactNumbers: the exact values (bigints: integers beyond 2^53-1, i64/u64
 * attribute values) a stored format-8 index's attribute column holds at some
 * number slots, read by range (ColdArrayReader) without loading the index.
 *
 * A column holding bigints has `exactSlots` (u32, ascending: the number
 * slots whose value is a bigint; `numbers` holds their doubles) and
 * `exactValues` (a string table of their decimal digits, one per entry of
 * `exactSlots`), docs/formats.md "Format 8". For the wanted slots:
 * - their entries in `exactSlots`: the array read whole when the slots are
 *   many beside it (at least 1/16 of its entries), else one lower-bound search
 *   per slot, all searches in the same rounds of parallel probes: slot s's
 *   entry lies in [s - (n - m), s] (n rows, m entries, ascending distinct
 *   slots), the first round probes around s * m / n (where an even spread
 *   puts it), the next ones narrow the range 16-fold each (the reader's
 *   block cache makes later rounds mostly local);
 * - the digits of the entries found, runs of nearby entries one read each.
 * A slot not in `exactSlots` holds its double exactly (no entry returned).
 *
 * `ExactLookup.at(slot, double)` gives the exact number of a number slot: its
 * bigint, which must round to the double the column holds (else the index is
 * corrupt), or the double itself.
 *
 * Damage (digits that are not a 16-20 digit integer, a bigint whose double is
 * not the column's, slots out of order or out of range, an `exactSlots`
 * without its `exactValues` or of another length, either in an index whose
 * meta document does not say `exact`) is CorruptStoredIndexError naming the index.
 * Blocks are CRC-checked by the reader: a torn or damaged block is Corrupt.
 */
import type { ColdArrayReader, ColdIndexFile } from "./cold-array-reader.ts";
import { CorruptStoredIndexError } from "../errors.ts";
import type { ExactNumber } from "../exact-number.ts";

type AttributeMeta = ColdIndexFile["meta"]["attributes"][number];

/** Probes per round of the searches. */
const PROBES = 15;
/** `exactSlots` is read whole when the wanted slots are at least this share of its entries. */
const WHOLE_SHARE = 1 / 16;
/** Entries of `exactValues` at most this far apart are read as one range. */
const RUN_GAP = 32;
/** The digits of an exact value (as the loaded decoder checks them, index-codec.ts). */
const DIGITS = /^-?[1-9]\d{15,19}$/;

/** The exact numbers of some slots of one column. */
export class ExactLookup {
  readonly #key: string;
  readonly #column: string;
  readonly #values: ReadonlyMap<number, bigint>;

  constructor(key: string, column: string, values: ReadonlyMap<number, bigint>) {
    this.#key = key;
    this.#column = column;
    this.#values = values;
  }

  /** The bigint at `slot`, if it holds one (the slot must have been asked for). */
  bigint(slot: number): bigint | undefined {
    return this.#values.get(slot);
  }

  /** The exact number at number slot `slot` whose double the column holds is `double`. */
  at(slot: number, double: number): ExactNumber {
    const big = this.#values.get(slot);
    if (big === undefined) return double;
    if (Number(big) !== double) {
      throw new CorruptStoredIndexError(`query index ${this.#key}: attribute ${JSON.stringify(this.#column)} holds ${big} at slot ${slot}, its number column ${double}`, this.#key);
    }
    return big;
  }

  /** The slots holding a bigint, ascending, and their digits (as an AttributeColumn's `exactSlots` / `exactValues`). */
  entries(): { slots: Uint32Array; digits: string[] } {
    const slots = Uint32Array.from(this.#values.keys()).sort();
    return { slots, digits: Array.from(slots, (slot) => (this.#values.get(slot) as bigint).toString()) };
  }
}

/** Checks a column's exact-value references against the meta document (no read). */
export function checkExactColumn(reader: ColdArrayReader, file: ColdIndexFile, column: AttributeMeta): void {
  const corrupt = (what: string) => new CorruptStoredIndexError(`query index ${file.key}: attribute ${JSON.stringify(column.name)} ${what}`, file.key);
  const { exactSlots, exactValues } = column;
  if ((exactSlots === undefined) !== (exactValues === undefined)) throw corrupt("has incomplete exact values");
  if ((exactSlots !== undefined || column.exactJson === true) && file.meta.exact !== true) throw corrupt("holds exact integers in an index that says none");
  if (exactSlots === undefined || exactValues === undefined) return;
  if (column.exactJson !== true) throw corrupt("holds exact integers without exactJson");
  if (column.numbers === null) throw corrupt("holds exact integers without a number column");
  if (reader.length(file, exactSlots, "u32") !== reader.stringCount(file, exactValues)) throw corrupt("has a different number of exact slots and exact values");
}

/** The bigints `column` holds at `slots` (any order, repeats allowed), read by range (module comment). */
export async function coldExactNumbers(reader: ColdArrayReader, file: ColdIndexFile, column: AttributeMeta, slots: Iterable<number>): Promise<ExactLookup> {
  checkExactColumn(reader, file, column);
  const out = new Map<number, bigint>();
  const { exactSlots, exactValues } = column;
  if (exactSlots === undefined || exactValues === undefined) return new ExactLookup(file.key, column.name, out);
  const corrupt = (what: string) => new CorruptStoredIndexError(`query index ${file.key}: attribute ${JSON.stringify(column.name)} ${what}`, file.key);
  const wanted = Uint32Array.from(new Set(slots)).sort();
  const m = reader.length(file, exactSlots, "u32");
  if (wanted.length === 0 || m === 0) return new ExactLookup(file.key, column.name, out);
  const n = file.meta.size;
  // Entry of each wanted slot that holds a bigint.
  const found: { slot: number; entry: number }[] = [];
  if (wanted.length >= m * WHOLE_SHARE) {
    const all = await reader.array(file, exactSlots, "u32", 0, m);
    for (let i = 0; i < m; i++) {
      if ((all[i] as number) >= n) throw corrupt(`has exact slot ${all[i]}, out of range`);
      if (i > 0 && (all[i] as number) <= (all[i - 1] as number)) throw corrupt("has exact slots out of order");
    }
    let i = 0;
    for (const slot of wanted) {
      while (i < m && (all[i] as number) < slot) i++;
      if (i < m && all[i] === slot) found.push({ slot, entry: i });
    }
  } else {
    // One lower-bound search per slot, all in the same rounds. The slots are distinct and ascending, so slot s's
    // entry is in [s - (n - m), s]; the first round probes around where a uniform spread would put it.
    const lo = new Float64Array(wanted.length);
    const hi = new Float64Array(wanted.length);
    const hiValue = new Float64Array(wanted.length).fill(-1);
    wanted.forEach((slot, w) => {
      lo[w] = Math.max(0, slot - (n - m));
      hi[w] = Math.min(m, slot + 1);
    });
    for (let round = 0; ; round++) {
      const probes: number[][] = [];
      let open = false;
      for (let w = 0; w < wanted.length; w++) {
        const span = (hi[w] as number) - (lo[w] as number);
        if (span <= 0) {
          probes.push([]);
          continue;
        }
        open = true;
        const a = lo[w] as number;
        if (span <= PROBES + 1) probes.push(Array.from({ length: span }, (_, i) => a + i));
        else if (round === 0) probes.push(nearGuess(a, a + span, Math.floor(((wanted[w] as number) * m) / n)));
        else probes.push(Array.from({ length: PROBES }, (_, p) => a + Math.floor(((p + 1) * span) / (PROBES + 1))));
      }
      if (!open) break;
      const values = await reader.gather(file, exactSlots, "u32", probes.flat());
      probes.forEach((at, w) => {
        if (at.length === 0) return;
        const slot = wanted[w] as number;
        const span = (hi[w] as number) - (lo[w] as number);
        let nextLo = lo[w] as number;
        for (const p of at) {
          const v = values.get(p) as number;
          if (v >= n) throw corrupt(`has exact slot ${v}, out of range`);
          if (v < slot) nextLo = p + 1;
          else {
            hi[w] = p;
            hiValue[w] = v;
            break;
          }
        }
        lo[w] = span <= PROBES + 1 ? (hi[w] as number) : nextLo;
        if ((lo[w] as number) > (hi[w] as number)) throw corrupt("has exact slots out of order");
      });
    }
    wanted.forEach((slot, w) => {
      if (hiValue[w] === slot) found.push({ slot, entry: hi[w] as number });
    });
  }
  if (found.length === 0) return new ExactLookup(file.key, column.name, out);
  // The digits: runs of nearby entries, one read each.
  found.sort((a, b) => a.entry - b.entry);
  const runs: [number, number][] = [];
  for (const { entry } of found) {
    const last = runs.at(-1);
    if (last !== undefined && entry - last[1] <= RUN_GAP) last[1] = Math.max(last[1], entry + 1);
    else runs.push([entry, entry + 1]);
  }
  const texts = await Promise.all(runs.map(([from, to]) => reader.strings(file, exactValues, from, to)));
  let r = 0;
  for (const { slot, entry } of found) {
    while (entry >= (runs[r] as [number, number])[1]) r++;
    const digits = (texts[r] as string[])[entry - (runs[r] as [number, number])[0]] as string;
    if (!DIGITS.test(digits)) throw corrupt(`has exact value ${JSON.stringify(digits.slice(0, 40))} at slot ${slot}, not an integer`);
    out.set(slot, BigInt(digits));
  }
  return new ExactLookup(file.key, column.name, out);
}

/** Probes in [from, to) clustered around `guess` (distances growing fourfold), ascending. */
function nearGuess(from: number, to: number, guess: number): number[] {
  const at = new Set<number>();
  for (const d of [0, 1, -1, 4, -4, 16, -16, 64, -64, 256, -256, 1024, -1024, 4096, -4096]) {
    const p = guess + d;
    if (p >= from && p < to) at.add(p);
  }
  if (at.size === 0) at.add(Math.min(to - 1, Math.max(from, guess)));
  return [...at].sort((a, b) => a - b);
}
