/**
 * coldTailBases: the base documents of the log tail's PATCHes that reach a
 * document the tail had not written before (TailFold.needsBase: its base
 * row lives in an indexed segment), read by ranges from the segments'
 * stored indexes (ColdArrayReader) instead of from the materialized state,
 * so a cold query over such a tail stays cold.
 *
 * An id's base is the row the loaded path would return over the segments
 * alone: the row of the newest segment holding the id (an older segment's
 * row is shadowed by it, query-snapshot.ts), unless that row's position is
 * tombstoned or masked at the version, or a newer segment deleted the id
 * (`deleted_ids` markers): then there is no base (the materialized state
 * skips a patch of a missing document, and so does the fold). Found through
 * each segment's id set (ColdDeadSlots.slotsOfIds: Bloom filter, one id
 * block, `idOrder`), the slot's cluster (ColdRows: its id, position and
 * vector), the row store entry (its attributes, as `attributesOf` returns
 * them) and the sparse row's elements.
 *
 * The index keeps a text field only as tokens, not its text: a base is
 * served when each text field the row has is set or removed by one of the
 * id's pending patches (the base's value then never reaches the patched
 * document, `patched`); otherwise undefined, and the caller resolves the
 * tail from the materialized state (loaded-only.ts `tailBaseNeedsState`).
 *
 * Damage (a damaged block, an offset out of range, a reordered index
 * without positions) is CorruptError naming the index.
 */
import type { ContainerRef } from "@skerry/wal-format";
import { type ColdArrayReader, type ColdDeadSlots, type ColdIndexFile, type ColdRows, tailBaseNeedsState } from "@skerry/query";
import { deletedIdsOf, maskedPositions } from "../manifest/index.ts";
import type { StoredDocument } from "../namespace/index.ts";
import { CorruptError } from "../core/index.ts";

export interface ColdTailBasesInput {
  readonly reader: ColdArrayReader;
  readonly ids: ColdDeadSlots;
  readonly rows: ColdRows;
  /** The indexed segments, oldest first, with their refs and the positions their tombstones hide at the version. */
  readonly files: readonly ColdIndexFile[];
  readonly refs: readonly ContainerRef[];
  readonly tombstones: readonly Iterable<number>[];
  /** Per id needing a base: the text fields its pending patches set or remove. */
  readonly wanted: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Each wanted id's base document (null: none), or undefined when some base's text is needed (not served cold). */
export async function coldTailBases(input: ColdTailBasesInput): Promise<Map<string, StoredDocument | null> | undefined> {
  const { files, refs, rows } = input;
  const wanted = [...input.wanted.keys()];
  // Per segment: the slots of the wanted ids it holds, and those slots' ids.
  const held = await Promise.all(
    files.map(async (file) => {
      const slots = await input.ids.slotsOfIds(file, wanted);
      return rows.ids(file, slots);
    }),
  );
  // The newest segment holding each id.
  const holder = new Map<string, { s: number; slot: number }>();
  held.forEach((bySlot, s) => {
    for (const [slot, docId] of bySlot) holder.set(docId, { s, slot });
  });
  // Per segment: its tombstoned and masked positions (made once, for the segments holding a wanted id).
  const deadPositions = new Map<number, ReadonlySet<number>>();
  const deadOf = (s: number): ReadonlySet<number> => {
    let dead = deadPositions.get(s);
    if (dead === undefined) {
      const positions = new Set<number>(input.tombstones[s] as Iterable<number>);
      const masked = maskedPositions(refs[s] as ContainerRef);
      if (masked !== undefined) for (const position of masked) positions.add(position);
      deadPositions.set(s, (dead = positions));
    }
    return dead;
  };
  const out = new Map<string, StoredDocument | null>();
  const bases = await Promise.all(
    wanted.map(async (docId): Promise<StoredDocument | null | undefined> => {
      const at = holder.get(docId);
      if (at === undefined) return null;
      const { s, slot } = at;
      for (let newer = s + 1; newer < refs.length; newer++) if (deletedIdsOf(refs[newer] as ContainerRef).includes(docId)) return null;
      const file = files[s] as ColdIndexFile;
      if (await positionDead(input.rows, file, slot, deadOf(s))) return null;
      return baseDocument(input, file, slot, docId, input.wanted.get(docId) as ReadonlySet<string>);
    }),
  );
  for (let i = 0; i < wanted.length; i++) {
    const base = bases[i];
    if (base === undefined) return undefined;
    out.set(wanted[i] as string, base);
  }
  return out;
}

/** Whether the row at `slot` of `file` sits at one of the `dead` (tombstoned or masked) positions. */
async function positionDead(coldRows: ColdRows, file: ColdIndexFile, slot: number, dead: ReadonlySet<number>): Promise<boolean> {
  if (dead.size === 0) return false;
  let position = slot;
  if (file.meta.sourcePositions !== null) {
    // A reordered index keeps each row's position in its cluster.
    const { start, rows } = await coldRows.clusterOf(file, slot);
    if (rows.positions === null) throw new CorruptError(`query index ${file.key}: a reordered index keeps no positions`, file.key);
    position = rows.positions[slot - start] as number;
  }
  return dead.has(position);
}

/** The document of the row at `slot`: vector, sparse vector and attributes; undefined when its text is needed. */
async function baseDocument(input: ColdTailBasesInput, file: ColdIndexFile, slot: number, docId: string, patchedText: ReadonlySet<string>): Promise<StoredDocument | undefined> {
  const { reader, rows } = input;
  const meta = file.meta;
  const present = await Promise.all(meta.text.map((field) => reader.array(file, field.present, "u8", slot, slot + 1)));
  if (tailBaseNeedsState(meta.text.filter((_, i) => (present[i] as Uint8Array)[0] !== 0).map((field) => field.name), patchedText)) return undefined;
  const [vector, sparse, attributes] = await Promise.all([rows.vector(file, slot), sparseRow(reader, file, slot), rows.attributes(file, slot, "all")]);
  return {
    id: docId,
    ...(vector === undefined ? {} : { vector: Float32Array.from(vector) }),
    ...(sparse === undefined ? {} : { sparse }),
    ...(Object.keys(attributes).length === 0 ? {} : { attributes }),
  };
}

/** The slot's sparse vector, or undefined when it has none. */
async function sparseRow(reader: ColdArrayReader, file: ColdIndexFile, slot: number): Promise<{ indices: Uint32Array; values: Float32Array } | undefined> {
  const sparse = file.meta.sparse;
  if (sparse === null) return undefined;
  const offsets = await reader.array(file, sparse.rowOffsets, "u32", slot, slot + 2);
  const from = offsets[0] as number;
  const to = offsets[1] as number;
  if (to < from) throw new CorruptError(`query index ${file.key}: sparse row offsets out of order`, file.key);
  if (to === from) return undefined;
  const [indices, values] = await Promise.all([reader.array(file, sparse.indices, "u32", from, to), reader.array(file, sparse.values, "f32", from, to)]);
  return { indices: Uint32Array.from(indices), values: Float32Array.from(values) };
}
