/**
 * @skerry/wal-format: Skerry's on-storage formats, as pure code (no I/O).
 *
 * - ids: 128-bit `WalId` / `RowId` / `HandleId`, their 32-hex wire form, and
 *   the `IdGenerator` that mints them;
 * - schemas: zod schemas plus typed encode/decode for every JSON document
 *   (mutation state, manifest, refcount table, compaction intent, and the
 *   records nested in them);
 * - codecs: the tombstone sidecar, the Arrow row batch and the framed log;
 * - errors: the closed set of typed errors everything above throws.
 */
export {
  ContentHashMismatchError,
  CorruptDataError,
  IdParseError,
  InvalidInputError,
  isContentHashMismatchError,
  isCorruptDataError,
  isIdParseError,
  isInvalidInputError,
  isSchemaError,
  isUnsupportedVersionError,
  isWalFormatError,
  SchemaError,
  UnsupportedVersionError,
  WalFormatError,
} from "./errors.ts";
export type { CorruptDataReason, IdParseReason, WalFormatErrorCode } from "./errors.ts";

export {
  compareIds,
  handleId,
  handleIdFromHex,
  ID_BYTES,
  ID_HEX_LENGTH,
  idToBytes,
  idToHex,
  isIdHex,
  MAX_ID,
  readIdBytes,
  rowId,
  rowIdFromHex,
  walId,
  walIdFromHex,
  writeIdBytes,
} from "./ids.ts";
export type { AnyId, HandleId, RowId, WalId } from "./ids.ts";
export {
  composeId,
  decomposeId,
  MAX_SEQUENCE,
  MAX_TIMESTAMP_MS,
  MAX_WORKER_ID,
  SEQUENCE_BITS,
  TIMESTAMP_BITS,
  WORKER_ID_BITS,
} from "./id-layout.ts";
export type { IdParts } from "./id-layout.ts";
export { flattenIdSpans, idSpanLength, idSpansTotal } from "./id-span.ts";
export type { IdSpan } from "./id-span.ts";
export { IdGenerator, MAX_RESERVE } from "./id-generator.ts";
export type { IdGeneratorOptions } from "./id-generator.ts";
export { systemClock } from "./clock.ts";
export type { Clock } from "./clock.ts";
export { cryptoRandom, seededRandom } from "./random.ts";
export type { Random } from "./random.ts";
export { CONTENT_HASH_HEX_LENGTH, contentDigest, contentHash, verifyContentHash } from "./content-hash.ts";

export { DEFAULT_MAX_DOCUMENT_BYTES } from "./schemas/json-document.ts";
export type { DecodeDocumentOptions } from "./schemas/json-document.ts";
export type { JsonObject, JsonValue } from "./schemas/wire.ts";
export { hasBigInt, hasLongInteger, parseExact, stringifyExact } from "./exact-json.ts";
export { idSpanWireSchema } from "./schemas/id-span.ts";
export { leaseWireSchema } from "./schemas/lease.ts";
export type { Lease } from "./schemas/lease.ts";
export { TOMBSTONE_OUTCOMES, tombstoneEntryWireSchema } from "./schemas/tombstone-entry.ts";
export type { TombstoneEntry, TombstoneOutcome } from "./schemas/tombstone-entry.ts";
export { sealRecordWireSchema } from "./schemas/seal-record.ts";
export type { SealRecord } from "./schemas/seal-record.ts";
export {
  decodeMutationState,
  encodeMutationState,
  MUTATION_STATE_SCHEMA_VERSION,
  MUTATION_STATES,
  mutationStateWireSchema,
  OP_KINDS,
} from "./schemas/mutation-state.ts";
export type {
  DeleteMutationState,
  MutationState,
  MutationStateName,
  OpKind,
  UpdateMutationState,
} from "./schemas/mutation-state.ts";
export {
  CONTAINER_KINDS,
  containerRefWireSchema,
  decodeManifest,
  DISTANCE_METRICS,
  encodeManifest,
  MANIFEST_ENVELOPE_VERSION,
  MANIFEST_SCHEMA_VERSION,
  manifestWireSchema,
  MAX_TEXT_TOKEN_LENGTH,
  MAX_VECTOR_DIMENSION,
} from "./schemas/manifest.ts";
export type { ContainerKind, ContainerRef, DistanceMetric, Manifest, RecentWrite, TextFieldSettings } from "./schemas/manifest.ts";
export { ATTRIBUTE_TYPES, ID_TYPES, MAX_SCHEMA_ATTRIBUTES, SCALAR_ATTRIBUTE_TYPES } from "./schemas/namespace-schema.ts";
export type { AttributeSchema, AttributeType, IdType, NamespaceSchema, ScalarAttributeType } from "./schemas/namespace-schema.ts";
export {
  decodeRefcountTable,
  encodeRefcountTable,
  REFCOUNT_TABLE_SCHEMA_VERSION,
  refcountTableWireSchema,
} from "./schemas/refcount-table.ts";
export type { RefcountTable } from "./schemas/refcount-table.ts";
export {
  COMPACTION_INTENT_SCHEMA_VERSION,
  COMPACTION_STATES,
  compactionIntentWireSchema,
  decodeCompactionIntent,
  encodeCompactionIntent,
} from "./schemas/compaction-intent.ts";
export type { CompactionIntent, CompactionState } from "./schemas/compaction-intent.ts";

export {
  decodeTombstoneSidecar,
  DEFAULT_MAX_TOMBSTONE_BITMAP_BYTES,
  DEFAULT_MAX_TOMBSTONE_POSITIONS,
  encodeTombstoneSidecar,
  hasPosition,
  MAX_SEAL_BYTES,
  TOMBSTONE_SIDECAR_MAGIC,
  TOMBSTONE_SIDECAR_VERSION,
} from "./codecs/tombstone-sidecar.ts";
export type { DecodeTombstoneSidecarOptions, TombstoneSidecar, TombstoneSidecarInput } from "./codecs/tombstone-sidecar.ts";
export {
  decodeRowBatch,
  decodeRowBatchTable,
  DEFAULT_MAX_ROW_BATCH_BYTES,
  DEFAULT_MAX_ROW_BATCH_ROWS,
  encodeRowBatch,
  MAX_ROW_BATCH_DIMENSION,
  ROW_BATCH_HEADER_BYTES,
  ROW_BATCH_MAGIC,
  ROW_BATCH_VERSION,
  rowBatchDocuments,
  rowBatchIpc,
  rowBatchSchema,
  rowBatchTableFromDocuments,
} from "./codecs/row-batch.ts";
export type {
  EncodeRowBatchOptions,
  RowBatchLimits,
  RowBatchTable,
  RowDocument,
  RowDocumentInput,
} from "./codecs/row-batch.ts";
export {
  decodeFramedLog,
  DEFAULT_MAX_ENTRY_BYTES,
  DEFAULT_MAX_HEADER_BYTES,
  encodeFramedLog,
  encodeFramedLogEntry,
  encodeFramedLogHeader,
  FRAMED_LOG_ENTRY_OVERHEAD,
  FRAMED_LOG_HEADER_BYTES,
  FRAMED_LOG_MAGIC,
  FRAMED_LOG_VERSION,
  iterateFramedLogEntries,
  readFramedLog,
  readFramedLogHeader,
} from "./codecs/framed-log.ts";
export type {
  FramedLog,
  FramedLogEnd,
  FramedLogEntry,
  FramedLogHeader,
  FramedLogLimits,
  FramedLogTorn,
  FramedLogTornReason,
} from "./codecs/framed-log.ts";
export {
  BLOCK_FILE_MAGIC,
  BLOCK_FILE_TRAILER_BYTES,
  BLOCK_FILE_VERSION,
  blockFileTrailerRange,
  blockSpan,
  DEFAULT_BLOCK_BYTES,
  decodeBlockFileDirectory,
  decodeBlockFileTrailer,
  encodeBlockFile,
  MAX_BLOCK_BYTES,
  MAX_BLOCK_FILE_DIRECTORY_BYTES,
  sliceFromTail,
  sliceSpan,
  verifyBlockSpan,
} from "./codecs/block-file.ts";
export type { BlockFileDirectory, BlockFileSection, BlockFileSectionInput, BlockFileTrailer, BlockSpan } from "./codecs/block-file.ts";
