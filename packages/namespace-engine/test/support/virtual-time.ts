/**
 * Virtual time for tests: a Clock and a sleep whose timers fire only when
 * `run` advances time, earliest first (ties in order of registration), after
 * letting every runnable promise settle (and, when no timer is pending, work
 * on the thread pool finish). Over MemoryStorage a run takes no real
 * waiting, however long it is in virtual time.
 */
interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

/** Event-loop turns `run` lets pass, with no timer pending, before it gives the work real time. */
const SETTLE_TURNS = 1_000;

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class VirtualTime {
  #now: number;
  #seq = 0;
  readonly #timers: Timer[] = [];

  constructor(start = Date.parse("2026-06-01T00:00:00Z")) {
    this.#now = start;
  }

  readonly now = (): number => this.#now;

  readonly sleep = (ms: number): Promise<void> => {
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer: Timer = { at: this.#now + ms, seq: ++this.#seq, resolve };
      let i = this.#timers.length;
      while (i > 0 && (this.#timers[i - 1] as Timer).at > timer.at) i--;
      this.#timers.splice(i, 0, timer);
    });
  };

  /** Advances time timer by timer until `work` settles; returns its outcome. */
  async run<T>(work: Promise<T>): Promise<T> {
    let done = false;
    work.then(
      () => (done = true),
      () => (done = true),
    );
    for (let idle = 0; ; ) {
      await settle();
      await settle();
      if (done) return work;
      if (this.#timers.length === 0) {
        // A chain of event-loop turns (each MemoryStorage call takes one) may still be running: let it run
        // turn by turn, deterministically, until it sleeps or settles. Only then is it work outside the event
        // loop (the thread pool), which gets real time (a real timer would race the turns: nondeterminism).
        if (++idle <= SETTLE_TURNS) continue;
        if (idle > SETTLE_TURNS + 1_000) throw new Error("virtual time: the work waits on nothing");
        await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      idle = 0;
      const timer = this.#timers.shift() as Timer;
      this.#now = timer.at;
      timer.resolve();
    }
  }
}
