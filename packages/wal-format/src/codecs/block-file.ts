/**
 * The block file: a container for immutable objects that readers fetch by
 * byte range (segment query structures: IVF lists, attribute blocks,
 * postings), so a cold query reads only what it needs.
 *
 * The object is a sequence of named sections, each cut into blocks with a
 * CRC-32 per block, followed by the checksum table, a JSON directory and a
 * fixed trailer. A reader that knows the object's size reads the trailer
 * (or, better, the whole *eager region* in one ranged GET: see below),
 * decodes the directory, and from then on fetches any byte range of any
 * section as the whole blocks that cover it, verifying each block's CRC
 * before using a byte: a flipped, torn or truncated block is
 * `CorruptDataError`, never data.
 *
 * Layout, format version 1 (integers little-endian):
 *
 *   [data sections]         non-eager sections, each starting 8-byte aligned
 *   [eager sections]        sections flagged eager (small, needed by every
 *                           query: centroids, dictionaries), 8-byte aligned
 *   [checksum table]        u32 CRC-32 of every block, sections in directory
 *                           order, blocks in order (8-byte aligned)
 *   [directory]             UTF-8 JSON, below
 *   [trailer]               48 bytes:
 *     0   8  magic "SKRYBLKF"
 *     8   2  format_version (1)
 *     10  2  flags (0)
 *     12  4  directory_length
 *     16  8  directory_offset
 *     24  8  checksum_offset (the table is [checksum_offset, directory_offset))
 *     32  8  eager_offset: the eager region is [eager_offset, object end):
 *            eager sections, checksum table, directory and trailer
 *     40  4  CRC-32 of bytes [checksum_offset, directory_offset + directory_length)
 *     44  4  CRC-32 of trailer bytes [0, 44)
 *
 * Directory: `{"sections":[{"name", "offset", "length", "eager",
 * "block_bytes"} | {..., "block_ends": [...]}]}`: a section's blocks are
 * either fixed-size (`block_bytes`, the last one shorter) or end at the
 * given section-relative offsets (strictly ascending, the last = length;
 * e.g. one block per IVF list). Offsets are absolute. Padding between
 * sections is zero and belongs to no block (no read returns it).
 *
 * Writers record the eager region's size next to the object's (e.g. in the
 * manifest's container ref), so a cold reader fetches it with one GET and
 * has the directory and every eager section at once.
 *
 * Decoding checks, in order: trailer size, magic, version (newer =
 * `UnsupportedVersionError`), trailer CRC, flags, offsets against the
 * object size, the table-and-directory CRC, the directory against its
 * schema, then every section: unique names, 8-byte aligned, in bounds,
 * non-overlapping, eager ones inside the eager region and others before it,
 * block boundaries valid, and the block count equal to the table's.
 *
 * Pure code: no I/O. The caller fetches bytes (`blockFileTrailerRange`,
 * `blockSpan`) and hands them to the decoders here.
 */
import { z } from "zod";
import { CorruptDataError, InvalidInputError, UnsupportedVersionError } from "../errors.ts";
import { bytesEqual, dataView, strictTextDecoder, textEncoder } from "../internal/binary.ts";
import { crc32 } from "../internal/crc32.ts";

export const BLOCK_FILE_FORMAT = "block-file";
export const BLOCK_FILE_MAGIC: Uint8Array = textEncoder.encode("SKRYBLKF");
export const BLOCK_FILE_VERSION = 1;
export const BLOCK_FILE_TRAILER_BYTES = 48;
/** Default block size of a section without explicit boundaries. */
export const DEFAULT_BLOCK_BYTES = 64 * 1024;
/** Largest block a writer may declare (a reader verifies whole blocks, so this bounds a read's amplification). */
export const MAX_BLOCK_BYTES = 64 * 1024 * 1024;
/** Largest directory a reader accepts. */
export const MAX_BLOCK_FILE_DIRECTORY_BYTES = 64 * 1024 * 1024;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$/;

export interface BlockFileSectionInput {
  /** Letters, digits and `._:/-`, at most 200 characters, unique in the file. */
  readonly name: string;
  readonly bytes: Uint8Array;
  /** Fixed block size (default 64 KiB); exclusive with `blockEnds`. */
  readonly blockBytes?: number;
  /** Section-relative block end offsets, strictly ascending, the last = bytes.length. */
  readonly blockEnds?: readonly number[];
  /** Placed in the eager region at the end of the object (fetched with the directory). */
  readonly eager?: boolean;
}

export interface BlockFileSection {
  readonly name: string;
  /** Absolute offset of the section's first byte. */
  readonly offset: number;
  readonly length: number;
  readonly eager: boolean;
  readonly blockCount: number;
  /** Index of the section's first block in the checksum table. */
  readonly firstBlock: number;
  /** Fixed block size, or undefined when the section has explicit boundaries. */
  readonly blockBytes: number | undefined;
  /** Section-relative end of block `i` (0 <= i < blockCount). */
  blockEnd(i: number): number;
  /** Section-relative start of block `i`. */
  blockStart(i: number): number;
  /** The block holding section-relative byte `offset` (0 <= offset < length). */
  blockAt(offset: number): number;
}

export interface BlockFileDirectory {
  readonly objectBytes: number;
  /** Start of the eager region (eager sections, table, directory, trailer). */
  readonly eagerOffset: number;
  /** Sections in file order. */
  readonly sections: readonly BlockFileSection[];
  /** CRC-32 of every block. */
  readonly checksums: Uint32Array;
  /** The section named `name`, or undefined. */
  section(name: string): BlockFileSection | undefined;
}

/** The trailer's fields, enough to know which bytes hold the directory. */
export interface BlockFileTrailer {
  readonly objectBytes: number;
  readonly eagerOffset: number;
  readonly checksumOffset: number;
  readonly directoryOffset: number;
  readonly directoryLength: number;
  readonly tableCrc: number;
}

/** A fetchable byte range covering whole blocks of one section. */
export interface BlockSpan {
  readonly section: BlockFileSection;
  readonly firstBlock: number;
  /** One past the last block (== firstBlock for an empty span). */
  readonly endBlock: number;
  /** Absolute offset of the span's first byte. */
  readonly offset: number;
  readonly length: number;
}

// ------------------------------------------------------------------ encode

/** Encodes sections into one block file. Throws InvalidInputError on a bad name, duplicate, or bad boundaries. */
export function encodeBlockFile(sections: readonly BlockFileSectionInput[]): Uint8Array {
  const names = new Set<string>();
  for (const s of sections) {
    if (typeof s.name !== "string" || !NAME_RE.test(s.name)) throw new InvalidInputError(`block file: invalid section name ${JSON.stringify(s.name)}`);
    if (names.has(s.name)) throw new InvalidInputError(`block file: duplicate section name ${JSON.stringify(s.name)}`);
    names.add(s.name);
    if (s.blockBytes !== undefined && s.blockEnds !== undefined) throw new InvalidInputError(`block file: section ${s.name} has both blockBytes and blockEnds`);
  }
  const ordered = [...sections.filter((s) => s.eager !== true), ...sections.filter((s) => s.eager === true)];
  let at = 0;
  let eagerOffset: number | undefined;
  const placed: { input: BlockFileSectionInput; offset: number; ends: number[] | undefined; blockBytes: number | undefined }[] = [];
  for (const input of ordered) {
    at = align8(at);
    if (input.eager === true && eagerOffset === undefined) eagerOffset = at;
    const length = input.bytes.byteLength;
    let ends: number[] | undefined;
    let blockBytes: number | undefined;
    if (input.blockEnds !== undefined) {
      ends = [...input.blockEnds];
      checkEnds(ends, length, (why) => new InvalidInputError(`block file: section ${input.name}: ${why}`));
    } else {
      blockBytes = input.blockBytes ?? DEFAULT_BLOCK_BYTES;
      if (!Number.isInteger(blockBytes) || blockBytes < 1 || blockBytes > MAX_BLOCK_BYTES) {
        throw new InvalidInputError(`block file: section ${input.name}: blockBytes ${blockBytes} outside [1, ${MAX_BLOCK_BYTES}]`);
      }
    }
    placed.push({ input, offset: at, ends, blockBytes });
    at += length;
  }
  const checksumOffset = align8(at);
  if (eagerOffset === undefined) eagerOffset = checksumOffset;
  const checksums: number[] = [];
  const wire: WireSection[] = [];
  for (const p of placed) {
    const { bytes, name } = p.input;
    const ends = p.ends ?? fixedEnds(bytes.byteLength, p.blockBytes as number);
    let start = 0;
    for (const end of ends) {
      checksums.push(crc32(bytes.subarray(start, end)));
      start = end;
    }
    const base = { name, offset: p.offset, length: bytes.byteLength, eager: p.input.eager === true };
    wire.push(p.ends === undefined ? { ...base, block_bytes: p.blockBytes as number } : { ...base, block_ends: p.ends });
  }
  const directory = textEncoder.encode(JSON.stringify({ sections: wire }));
  const directoryOffset = checksumOffset + 4 * checksums.length;
  const total = directoryOffset + directory.byteLength + BLOCK_FILE_TRAILER_BYTES;
  if (total > Number.MAX_SAFE_INTEGER) throw new InvalidInputError("block file: too large");
  const out = new Uint8Array(total);
  for (const p of placed) out.set(p.input.bytes, p.offset);
  const view = dataView(out);
  for (let i = 0; i < checksums.length; i++) view.setUint32(checksumOffset + 4 * i, checksums[i] as number, true);
  out.set(directory, directoryOffset);
  const t = directoryOffset + directory.byteLength;
  out.set(BLOCK_FILE_MAGIC, t);
  view.setUint16(t + 8, BLOCK_FILE_VERSION, true);
  view.setUint16(t + 10, 0, true);
  view.setUint32(t + 12, directory.byteLength, true);
  setU64(view, t + 16, directoryOffset);
  setU64(view, t + 24, checksumOffset);
  setU64(view, t + 32, eagerOffset);
  view.setUint32(t + 40, crc32(out.subarray(checksumOffset, t)), true);
  view.setUint32(t + 44, crc32(out.subarray(t, t + 44)), true);
  return out;
}

// ------------------------------------------------------------------ decode

/** The byte range holding the trailer of an object of `objectBytes` bytes. */
export function blockFileTrailerRange(objectBytes: number): { offset: number; length: number } {
  if (!Number.isSafeInteger(objectBytes) || objectBytes < BLOCK_FILE_TRAILER_BYTES) {
    throw new CorruptDataError(BLOCK_FILE_FORMAT, "truncated", `an object of ${objectBytes} bytes cannot hold the ${BLOCK_FILE_TRAILER_BYTES}-byte trailer`);
  }
  return { offset: objectBytes - BLOCK_FILE_TRAILER_BYTES, length: BLOCK_FILE_TRAILER_BYTES };
}

/**
 * Decodes the trailer from `tail`, the last `tail.byteLength` bytes of an
 * object of `objectBytes` bytes (at least the trailer; more is fine).
 */
export function decodeBlockFileTrailer(tail: Uint8Array, objectBytes: number): BlockFileTrailer {
  const { offset } = blockFileTrailerRange(objectBytes);
  if (tail.byteLength < BLOCK_FILE_TRAILER_BYTES || tail.byteLength > objectBytes) {
    throw new CorruptDataError(BLOCK_FILE_FORMAT, "truncated", `tail of ${tail.byteLength} bytes does not hold the trailer of a ${objectBytes}-byte object`);
  }
  const t = tail.byteLength - BLOCK_FILE_TRAILER_BYTES;
  const trailer = tail.subarray(t);
  if (!bytesEqual(trailer, BLOCK_FILE_MAGIC)) throw new CorruptDataError(BLOCK_FILE_FORMAT, "bad-magic", "trailer magic is not SKRYBLKF", { offset });
  const view = dataView(trailer);
  const version = view.getUint16(8, true);
  if (crc32(trailer.subarray(0, 44)) !== view.getUint32(44, true)) {
    throw new CorruptDataError(BLOCK_FILE_FORMAT, "checksum-mismatch", "trailer CRC-32 does not match", { offset: offset + 44 });
  }
  if (version !== BLOCK_FILE_VERSION) {
    if (version > BLOCK_FILE_VERSION) throw new UnsupportedVersionError(BLOCK_FILE_FORMAT, version, BLOCK_FILE_VERSION);
    throw new CorruptDataError(BLOCK_FILE_FORMAT, "malformed", `format version ${version} is not defined`, { offset: offset + 8 });
  }
  if (view.getUint16(10, true) !== 0) throw new CorruptDataError(BLOCK_FILE_FORMAT, "malformed", "unknown flags set", { offset: offset + 10 });
  const directoryLength = view.getUint32(12, true);
  const directoryOffset = getU64(view, 16);
  const checksumOffset = getU64(view, 24);
  const eagerOffset = getU64(view, 32);
  const bad = (why: string) => new CorruptDataError(BLOCK_FILE_FORMAT, "malformed", why, { offset });
  if (directoryOffset + directoryLength !== offset) throw bad(`directory [${directoryOffset}, +${directoryLength}) does not end at the trailer (${offset})`);
  if (directoryLength > MAX_BLOCK_FILE_DIRECTORY_BYTES) throw new CorruptDataError(BLOCK_FILE_FORMAT, "too-large", `directory of ${directoryLength} bytes`, { offset });
  if (checksumOffset > directoryOffset || (directoryOffset - checksumOffset) % 4 !== 0 || checksumOffset % 8 !== 0) {
    throw bad(`checksum table [${checksumOffset}, ${directoryOffset}) is not a whole, aligned u32 table`);
  }
  if (eagerOffset > checksumOffset || eagerOffset % 8 !== 0) throw bad(`eager offset ${eagerOffset} is past the checksum table or unaligned`);
  return { objectBytes, eagerOffset, checksumOffset, directoryOffset, directoryLength, tableCrc: view.getUint32(40, true) };
}

/**
 * Decodes the directory from `tail`, the object's last bytes, which must
 * reach back at least to `checksumOffset` (the eager region always does).
 * Returns the directory; eager sections inside `tail` can then be read with
 * `sliceFromTail`.
 */
export function decodeBlockFileDirectory(tail: Uint8Array, objectBytes: number): BlockFileDirectory {
  const trailer = decodeBlockFileTrailer(tail, objectBytes);
  const tailOffset = objectBytes - tail.byteLength;
  if (tailOffset > trailer.checksumOffset) {
    throw new CorruptDataError(BLOCK_FILE_FORMAT, "truncated", `tail starts at ${tailOffset}, after the checksum table (${trailer.checksumOffset})`);
  }
  const covered = tail.subarray(trailer.checksumOffset - tailOffset, trailer.directoryOffset + trailer.directoryLength - tailOffset);
  if (crc32(covered) !== trailer.tableCrc) {
    throw new CorruptDataError(BLOCK_FILE_FORMAT, "checksum-mismatch", "checksum table and directory CRC-32 does not match", { offset: trailer.checksumOffset });
  }
  const tableBytes = covered.subarray(0, trailer.directoryOffset - trailer.checksumOffset);
  const checksums = new Uint32Array(tableBytes.byteLength / 4);
  const tableView = dataView(tableBytes);
  for (let i = 0; i < checksums.length; i++) checksums[i] = tableView.getUint32(4 * i, true);
  let raw: unknown;
  try {
    raw = JSON.parse(strictTextDecoder.decode(covered.subarray(tableBytes.byteLength)));
  } catch (cause) {
    throw new CorruptDataError(BLOCK_FILE_FORMAT, "malformed", "directory is not UTF-8 JSON", { offset: trailer.directoryOffset, cause });
  }
  // jitless: parsed once per object read; zod's compiled fast path would cost more to compile than it saves.
  const parsed = directorySchema.safeParse(raw, { jitless: true });
  if (!parsed.success) {
    throw new CorruptDataError(BLOCK_FILE_FORMAT, "malformed", `directory does not match its schema: ${parsed.error.issues[0]?.message ?? "invalid"}`, {
      offset: trailer.directoryOffset,
    });
  }
  const sections: BlockFileSection[] = [];
  const byName = new Map<string, BlockFileSection>();
  let previousEnd = 0;
  let firstBlock = 0;
  for (const w of parsed.data.sections) {
    const bad = (why: string) => new CorruptDataError(BLOCK_FILE_FORMAT, "malformed", `section ${JSON.stringify(w.name)}: ${why}`, { offset: trailer.directoryOffset });
    if (byName.has(w.name)) throw bad("duplicate name");
    if (w.offset % 8 !== 0) throw bad(`offset ${w.offset} is not 8-byte aligned`);
    if (w.offset < previousEnd) throw bad(`offset ${w.offset} overlaps the previous section (ends at ${previousEnd})`);
    if (w.offset + w.length > trailer.checksumOffset) throw bad(`[${w.offset}, +${w.length}) runs into the checksum table`);
    if (w.eager && w.offset < trailer.eagerOffset) throw bad(`eager section starts before the eager region (${trailer.eagerOffset})`);
    if (!w.eager && w.offset + w.length > trailer.eagerOffset) throw bad(`section runs into the eager region (${trailer.eagerOffset})`);
    previousEnd = w.offset + w.length;
    let section: BlockFileSection;
    if ("block_ends" in w) {
      checkEnds(w.block_ends, w.length, bad);
      section = explicitSection(w.name, w.offset, w.length, w.eager, firstBlock, Float64Array.from(w.block_ends));
    } else {
      if (w.block_bytes > MAX_BLOCK_BYTES) throw bad(`block_bytes ${w.block_bytes} above ${MAX_BLOCK_BYTES}`);
      section = fixedSection(w.name, w.offset, w.length, w.eager, firstBlock, w.block_bytes);
    }
    firstBlock += section.blockCount;
    sections.push(section);
    byName.set(w.name, section);
  }
  if (firstBlock !== checksums.length) {
    throw new CorruptDataError(BLOCK_FILE_FORMAT, "malformed", `the sections have ${firstBlock} blocks, the checksum table ${checksums.length}`, {
      offset: trailer.checksumOffset,
    });
  }
  return {
    objectBytes,
    eagerOffset: trailer.eagerOffset,
    sections,
    checksums,
    section: (name) => byName.get(name),
  };
}

/**
 * The whole blocks of `section` covering its bytes [offset, offset + length)
 * (section-relative): what to fetch. A zero-length range needs no blocks.
 */
export function blockSpan(section: BlockFileSection, offset = 0, length = section.length - offset): BlockSpan {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > section.length) {
    throw new InvalidInputError(`block file: range [${offset}, +${length}) is outside section ${section.name} (${section.length} bytes)`);
  }
  if (length === 0) return { section, firstBlock: 0, endBlock: 0, offset: section.offset + offset, length: 0 };
  const first = section.blockAt(offset);
  const last = section.blockAt(offset + length - 1);
  const start = section.blockStart(first);
  return { section, firstBlock: first, endBlock: last + 1, offset: section.offset + start, length: section.blockEnd(last) - start };
}

/**
 * Verifies `bytes` (exactly the span's bytes, as fetched) block by block
 * against the directory's checksums and returns them. A mismatch is
 * `CorruptDataError` `checksum-mismatch` naming the block's offset.
 */
export function verifyBlockSpan(directory: BlockFileDirectory, span: BlockSpan, bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength !== span.length) {
    throw new CorruptDataError(BLOCK_FILE_FORMAT, "truncated", `span of section ${span.section.name} needs ${span.length} bytes, got ${bytes.byteLength}`, {
      offset: span.offset,
    });
  }
  const { section } = span;
  const base = section.blockStart(span.firstBlock);
  for (let b = span.firstBlock; b < span.endBlock; b++) {
    const start = section.blockStart(b) - base;
    const end = section.blockEnd(b) - base;
    if (crc32(bytes.subarray(start, end)) !== directory.checksums[section.firstBlock + b]) {
      throw new CorruptDataError(BLOCK_FILE_FORMAT, "checksum-mismatch", `block ${b} of section ${section.name} does not match its CRC-32`, {
        offset: span.offset + start,
      });
    }
  }
  return bytes;
}

/** Section-relative bytes [offset, offset + length) out of a verified span's bytes. */
export function sliceSpan(span: BlockSpan, spanBytes: Uint8Array, offset: number, length: number): Uint8Array {
  const from = span.section.offset + offset - span.offset;
  if (from < 0 || length < 0 || from + length > spanBytes.byteLength) {
    throw new InvalidInputError(`block file: [${offset}, +${length}) of section ${span.section.name} is not inside the span`);
  }
  return spanBytes.subarray(from, from + length);
}

/**
 * Section-relative bytes [offset, offset + length) of a section held in
 * `tail` (the object's last bytes, e.g. the eager region), verified.
 */
export function sliceFromTail(directory: BlockFileDirectory, tail: Uint8Array, section: BlockFileSection, offset = 0, length = section.length - offset): Uint8Array {
  const span = blockSpan(section, offset, length);
  const tailOffset = directory.objectBytes - tail.byteLength;
  if (span.offset < tailOffset) throw new InvalidInputError(`block file: section ${section.name} starts before the bytes held`);
  const bytes = verifyBlockSpan(directory, span, tail.subarray(span.offset - tailOffset, span.offset - tailOffset + span.length));
  return sliceSpan(span, bytes, offset, length);
}

// ----------------------------------------------------------------- helpers

type WireSection = { name: string; offset: number; length: number; eager: boolean } & ({ block_bytes: number } | { block_ends: number[] });

const safe = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/**
 * An array of safe non-negative integers, checked in one loop: a directory
 * can list a block end per IVF list (thousands), and validating them one
 * schema per element was most of the time to open a cold index.
 */
const safeIntegerArray = z.custom<number[]>(
  (v) => Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && x >= 0),
  "Invalid input: expected an array of non-negative safe integers",
);
const wireBase = { name: z.string().regex(NAME_RE), offset: safe, length: safe, eager: z.boolean() };
const directorySchema = z.object({
  sections: z.array(
    z.union([
      z.object({ ...wireBase, block_bytes: z.number().int().min(1) }).strict(),
      z.object({ ...wireBase, block_ends: safeIntegerArray }).strict(),
    ]),
  ),
});

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

function fixedEnds(length: number, blockBytes: number): number[] {
  const ends: number[] = [];
  for (let end = blockBytes; end < length; end += blockBytes) ends.push(end);
  if (length > 0) ends.push(length);
  return ends;
}

function checkEnds(ends: readonly number[], length: number, error: (why: string) => Error): void {
  let previous = 0;
  for (const end of ends) {
    if (!Number.isSafeInteger(end) || end <= previous) throw error(`block ends must be strictly ascending positive integers`);
    if (end - previous > MAX_BLOCK_BYTES) throw error(`a block of ${end - previous} bytes is above ${MAX_BLOCK_BYTES}`);
    previous = end;
  }
  if (previous !== length) throw error(`the last block ends at ${previous}, the section has ${length} bytes`);
}

function fixedSection(name: string, offset: number, length: number, eager: boolean, firstBlock: number, blockBytes: number): BlockFileSection {
  const blockCount = Math.ceil(length / blockBytes);
  return {
    name,
    offset,
    length,
    eager,
    blockCount,
    firstBlock,
    blockBytes,
    blockEnd: (i) => Math.min(length, (i + 1) * blockBytes),
    blockStart: (i) => i * blockBytes,
    blockAt: (at) => Math.floor(at / blockBytes),
  };
}

function explicitSection(name: string, offset: number, length: number, eager: boolean, firstBlock: number, ends: Float64Array): BlockFileSection {
  return {
    name,
    offset,
    length,
    eager,
    blockCount: ends.length,
    firstBlock,
    blockBytes: undefined,
    blockEnd: (i) => ends[i] as number,
    blockStart: (i) => (i === 0 ? 0 : (ends[i - 1] as number)),
    blockAt: (at) => {
      // First block whose end is > at.
      let lo = 0;
      let hi = ends.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((ends[mid] as number) > at) hi = mid;
        else lo = mid + 1;
      }
      return lo;
    },
  };
}

function setU64(view: DataView, at: number, value: number): void {
  view.setBigUint64(at, BigInt(value), true);
}

function getU64(view: DataView, at: number): number {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new CorruptDataError(BLOCK_FILE_FORMAT, "malformed", `offset ${value} is not a safe integer`);
  return Number(value);
}
