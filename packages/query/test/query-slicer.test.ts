/**
 * QuerySlicer, driven deterministically: a manual clock and manual
 * event-loop turns. A slice opens at the first checkpoint of a turn and is
 * due once it has used the budget; it closes on the next turn; paused
 * tasks resume one per turn, first paused first, each into a fresh slice;
 * tasks working in the same turn share its one budget.
 */
import { describe, expect, it } from "vitest";
import { QuerySlicer } from "../src/index.ts";

/** Lets every pending promise callback run (a real turn of the test's own loop). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function manual(budgetMs = 6) {
  let now = 0;
  const turns: (() => void)[] = [];
  const slicer = new QuerySlicer({ budgetMs, now: () => now, yieldTurn: () => new Promise<void>((resolve) => turns.push(resolve)) });
  return {
    slicer,
    advance(ms: number) {
      now += ms;
    },
    /** One event-loop turn of the slicer: everything it queued for "the next turn" runs. */
    async turn() {
      for (const resolve of turns.splice(0)) resolve();
      await settle();
    },
  };
}

describe("QuerySlicer", () => {
  it("opens a slice at the first checkpoint and is due once the budget is used", () => {
    const { slicer, advance } = manual(6);
    expect(slicer.due()).toBe(false);
    advance(5);
    expect(slicer.due()).toBe(false);
    advance(1);
    expect(slicer.due()).toBe(true);
    expect(slicer.stats()).toEqual({ slices: 1, pauses: 0 });
  });

  it("closes the slice on the next turn: work then gets a fresh budget", async () => {
    const { slicer, advance, turn } = manual(6);
    expect(slicer.due()).toBe(false);
    advance(10);
    expect(slicer.due()).toBe(true);
    await turn();
    expect(slicer.due()).toBe(false);
    advance(5);
    expect(slicer.due()).toBe(false);
    expect(slicer.stats().slices).toBe(2);
  });

  it("shares one budget among the tasks working in a turn", () => {
    const { slicer, advance } = manual(6);
    expect(slicer.due()).toBe(false); // task A opens the slice
    advance(4);
    expect(slicer.due()).toBe(false); // task B, same turn: 2 ms left
    advance(2);
    expect(slicer.due()).toBe(true); // spent for A and B alike
  });

  it("resumes paused tasks one per turn, first paused first, each into a fresh slice", async () => {
    const { slicer, advance, turn } = manual(6);
    const log: string[] = [];
    expect(slicer.due()).toBe(false);
    advance(6);
    const tasks = ["a", "b", "c"].map(async (name) => {
      expect(slicer.due()).toBe(true);
      await slicer.pause();
      log.push(name);
      // The resumed task's slice is fresh: it may work its whole budget.
      expect(slicer.due()).toBe(false);
      advance(6);
      expect(slicer.due()).toBe(true);
    });
    await settle();
    expect(slicer.waiting).toBe(3);
    expect(log).toEqual([]);
    await turn();
    expect(log).toEqual(["a"]);
    await turn();
    expect(log).toEqual(["a", "b"]);
    await turn();
    expect(log).toEqual(["a", "b", "c"]);
    await Promise.all(tasks);
    expect(slicer.waiting).toBe(0);
    expect(slicer.stats().pauses).toBe(3);
  });

  it("checkpoint() pauses only when due", async () => {
    const { slicer, advance, turn } = manual(6);
    await slicer.checkpoint();
    expect(slicer.stats().pauses).toBe(0);
    advance(7);
    let resumed = false;
    const done = slicer.checkpoint().then(() => {
      resumed = true;
    });
    await settle();
    expect(resumed).toBe(false);
    await turn();
    await done;
    expect(resumed).toBe(true);
    expect(slicer.stats().pauses).toBe(1);
  });

  it("rejects a budget that is not a non-negative finite number", () => {
    for (const budgetMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => new QuerySlicer({ budgetMs })).toThrow(RangeError);
    expect(new QuerySlicer({ budgetMs: 0 }).budgetMs).toBe(0);
    expect(new QuerySlicer().budgetMs).toBe(6);
  });

  it("with the default setImmediate turns, ten busy tasks never work more than about two budgets in one turn", async () => {
    let now = 0; // virtual time: each unit of work costs 1 ms
    const slicer = new QuerySlicer({ budgetMs: 6, now: () => now });
    let turns = 0;
    let workThisTurn = 0;
    let most = 0;
    let running = true;
    const counter = () => {
      most = Math.max(most, workThisTurn);
      workThisTurn = 0;
      turns++;
      if (running) setImmediate(counter);
    };
    setImmediate(counter);
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        for (let i = 0; i < 60; i++) {
          now += 1;
          workThisTurn += 1;
          if (slicer.due()) await slicer.pause();
        }
      }),
    );
    running = false;
    most = Math.max(most, workThisTurn);
    // 600 ms of work in slices of about 6: at least ~100 turns, never ten slices' worth in one (the first turn also holds each fresh task's first unit, before its first checkpoint).
    expect(turns).toBeGreaterThanOrEqual(80);
    expect(most).toBeLessThanOrEqual(2 * 6 + 10);
  });
});
