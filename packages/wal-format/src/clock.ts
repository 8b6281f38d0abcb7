/**
 * Time as an injected dependency.
 *
 * Everything in Skerry that reads the time does it through a `Clock`, so
 * tests can stand the clock still, step it back, or jump it forward and get
 * the same ids and timestamps on every run.
 */

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The wall clock (`Date.now`). */
export const systemClock: Clock = { now: () => Date.now() };
