import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Clock,
  decomposeId,
  idSpanLength,
  idSpansTotal,
  flattenIdSpans,
  IdGenerator,
  isInvalidInputError,
  MAX_SEQUENCE,
  MAX_WORKER_ID,
  rowId,
  seededRandom,
} from "@skerry/wal-format";

/** A clock the test moves by hand. */
function manualClock(start: number): Clock & { set(ms: number): void } {
  let now = start;
  return { now: () => now, set: (ms: number) => void (now = ms) };
}

describe("IdGenerator", () => {
  it("packs timestamp, worker id and sequence into the id", () => {
    const gen = new IdGenerator({ clock: manualClock(1_700_000_000_000), workerId: 0xabcdef1234 });
    const first = decomposeId(gen.next());
    expect(first).toEqual({ timestampMs: 1_700_000_000_000n, workerId: 0xabcdef1234, sequence: 0 });
    expect(decomposeId(gen.next()).sequence).toBe(1);
  });

  it("draws a 40-bit worker id from the injected Random, deterministically", () => {
    const a = new IdGenerator({ random: seededRandom(7), clock: manualClock(1) });
    const b = new IdGenerator({ random: seededRandom(7), clock: manualClock(1) });
    expect(a.workerId).toBe(b.workerId);
    expect(a.workerId).toBeLessThanOrEqual(MAX_WORKER_ID);
    expect(a.next()).toBe(b.next());
  });

  it("rejects a worker id outside 40 bits and a broken clock", () => {
    expect(() => new IdGenerator({ workerId: MAX_WORKER_ID + 1 })).toThrow(expect.objectContaining({ code: "InvalidInput" }));
    const gen = new IdGenerator({ clock: { now: () => Number.NaN }, workerId: 1 });
    expect(() => gen.next()).toThrow(expect.objectContaining({ code: "InvalidInput" }));
  });

  it("stays strictly increasing when the clock stands still", () => {
    const gen = new IdGenerator({ clock: manualClock(5_000), workerId: 3 });
    let previous = -1n;
    for (let i = 0; i < 10_000; i++) {
      const id = gen.next();
      expect(id > previous).toBe(true);
      previous = id;
    }
  });

  it("stays strictly increasing when the clock steps back", () => {
    const clock = manualClock(10_000);
    const gen = new IdGenerator({ clock, workerId: 3 });
    const before = gen.next();
    clock.set(2_000);
    const after = gen.next();
    expect(after > before).toBe(true);
    expect(decomposeId(after).timestampMs).toBe(10_000n);
  });

  it("runs one millisecond ahead when a millisecond's sequence is exhausted", () => {
    const gen = new IdGenerator({ clock: manualClock(1_000), workerId: 9 });
    const spans = gen.reserveRange(MAX_SEQUENCE + 1);
    expect(spans).toHaveLength(1);
    const next = decomposeId(gen.next());
    expect(next).toEqual({ timestampMs: 1_001n, workerId: 9, sequence: 0 });
  });

  it("reserves contiguous spans whose lengths add up to n, splitting at the sequence limit", () => {
    const gen = new IdGenerator({ clock: manualClock(1_000), workerId: 1 });
    gen.reserveRange(MAX_SEQUENCE - 9); // leave 10 ids in this millisecond
    const spans = gen.reserveRange(25);
    expect(spans.map(idSpanLength)).toEqual([10, 15]);
    expect(idSpansTotal(spans)).toBe(25);
    expect(decomposeId(spans[1]!.first)).toMatchObject({ timestampMs: 1_001n, sequence: 0 });
    const ids = flattenIdSpans(spans);
    expect(ids).toHaveLength(25);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
  });

  it("returns no spans for a zero-length reservation and rejects bad counts", () => {
    const gen = new IdGenerator({ clock: manualClock(1), workerId: 1 });
    expect(gen.reserveRange(0)).toEqual([]);
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 40]) {
      expect(() => gen.reserveRange(bad)).toThrow(expect.objectContaining({ code: "InvalidInput" }));
    }
  });

  it("rejects inverted spans and refuses to flatten beyond its limit", () => {
    expect(() => idSpanLength({ first: rowId(5n), last: rowId(4n) })).toThrow(expect.objectContaining({ code: "InvalidInput" }));
    try {
      flattenIdSpans([{ first: rowId(0n), last: rowId(1_000_000n) }], 1000);
      expect.unreachable();
    } catch (error) {
      expect(isInvalidInputError(error)).toBe(true);
    }
  });

  it("never repeats or reorders ids under any clock behaviour (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ clock: fc.integer({ min: 0, max: 50 }), take: fc.integer({ min: 0, max: 40 }), range: fc.boolean() }), {
          maxLength: 40,
        }),
        (steps) => {
          const clock = manualClock(0);
          const gen = new IdGenerator({ clock, random: seededRandom(1) });
          let previous = -1n;
          for (const step of steps) {
            clock.set(step.clock);
            if (step.range) {
              const spans = gen.reserveRange(step.take);
              expect(idSpansTotal(spans)).toBe(step.take);
              for (const span of spans) {
                expect(span.first > previous).toBe(true);
                expect(span.last >= span.first).toBe(true);
                previous = span.last;
              }
            } else {
              const id = gen.next();
              expect(id > previous).toBe(true);
              previous = id;
            }
          }
        },
      ),
    );
  });

  it("advancePast makes every later id greater than an id minted by another process with a faster clock", () => {
    const clock = manualClock(1_000);
    const local = new IdGenerator({ clock, workerId: MAX_WORKER_ID });
    const remote = new IdGenerator({ clock: manualClock(5_000), workerId: 0 });
    const first = local.next();
    const foreign = remote.next();
    expect(first < foreign).toBe(true);
    local.advancePast(foreign);
    const next = local.next();
    expect(next > foreign).toBe(true);
    expect(decomposeId(next).timestampMs).toBe(5_001n);
    expect(local.next() > next).toBe(true);
    // Spans reserved afterwards are past it too, and the clock catching up keeps order.
    const [span] = local.reserveRange(3);
    expect((span?.first ?? 0n) > next).toBe(true);
    clock.set(9_000);
    expect(decomposeId(local.next()).timestampMs).toBe(9_000n);
  });

  it("advancePast is a no-op when the generator is already past the id, and rejects non-ids", () => {
    const clock = manualClock(2_000);
    const gen = new IdGenerator({ clock, workerId: 7 });
    const a = gen.next();
    gen.advancePast(rowId(1n));
    gen.advancePast(a);
    const b = gen.next();
    expect(decomposeId(b)).toEqual({ timestampMs: 2_000n, workerId: 7, sequence: 1 });
    expect(isInvalidInputError(catchError(() => gen.advancePast(-1n)))).toBe(true);
    expect(isInvalidInputError(catchError(() => gen.advancePast(1n << 128n)))).toBe(true);
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}
