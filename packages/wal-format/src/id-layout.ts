/**
 * The Snowflake-shaped bit layout shared by every 128-bit id.
 *
 *   bits 127..64  timestamp: milliseconds since the Unix epoch (64 bits)
 *   bits  63..24  worker id: random per generator (40 bits)
 *   bits  23..0   sequence within that millisecond (24 bits)
 *
 * Timestamp first means ids (and their hex forms) sort by creation time; the
 * random worker id keeps two processes minting in the same millisecond from
 * colliding without any coordination.
 *
 * Errors: `composeId` throws `InvalidInputError` for a part out of range.
 */
import { InvalidInputError } from "./errors.ts";

export const TIMESTAMP_BITS = 64;
export const WORKER_ID_BITS = 40;
export const SEQUENCE_BITS = 24;
export const MAX_WORKER_ID = 2 ** WORKER_ID_BITS - 1;
export const MAX_SEQUENCE = 2 ** SEQUENCE_BITS - 1;
export const MAX_TIMESTAMP_MS = (1n << 64n) - 1n;

export interface IdParts {
  /** Milliseconds since the Unix epoch. */
  readonly timestampMs: bigint;
  readonly workerId: number;
  readonly sequence: number;
}

/** Pack timestamp, worker id and sequence into a 128-bit value. */
export function composeId(parts: IdParts): bigint {
  const { timestampMs, workerId, sequence } = parts;
  if (timestampMs < 0n || timestampMs > MAX_TIMESTAMP_MS) {
    throw new InvalidInputError(`timestamp ${timestampMs} does not fit in ${TIMESTAMP_BITS} bits`);
  }
  if (!Number.isInteger(workerId) || workerId < 0 || workerId > MAX_WORKER_ID) {
    throw new InvalidInputError(`worker id ${workerId} does not fit in ${WORKER_ID_BITS} bits`);
  }
  if (!Number.isInteger(sequence) || sequence < 0 || sequence > MAX_SEQUENCE) {
    throw new InvalidInputError(`sequence ${sequence} does not fit in ${SEQUENCE_BITS} bits`);
  }
  return (timestampMs << 64n) | (BigInt(workerId) << 24n) | BigInt(sequence);
}

/** Split a 128-bit id into its timestamp, worker id and sequence. */
export function decomposeId(id: bigint): IdParts {
  return {
    timestampMs: id >> 64n,
    workerId: Number((id >> 24n) & BigInt(MAX_WORKER_ID)),
    sequence: Number(id & BigInt(MAX_SEQUENCE)),
  };
}
