/**
 * The server's URLs when there are several (several balancers in front of
 * one fleet): which one the next attempt goes to.
 *
 * - Sticky: every call goes to the current URL; it changes only when an
 *   attempt against it fails at the transport level (no answer, or a
 *   balancer's 502/503/504 page), never back on its own.
 * - A URL that failed is in cool-down for `cooldownMs`: it is not chosen
 *   while another URL is not, so calls do not keep knocking on a dead
 *   balancer. When every URL is cooling down, the one whose cool-down ends
 *   first is tried anyway (a call never fails just for lack of a URL).
 */
export class BaseUrls {
  readonly urls: readonly string[];
  readonly #cooldownMs: number;
  readonly #until: number[];
  #current = 0;

  constructor(urls: readonly string[], cooldownMs: number) {
    if (urls.length === 0) throw new TypeError("at least one base URL is needed");
    this.urls = urls;
    this.#cooldownMs = cooldownMs;
    this.#until = urls.map(() => 0);
  }

  /** The index of the URL the next attempt uses. */
  pick(now: number): number {
    const n = this.urls.length;
    for (let step = 0; step < n; step++) {
      const i = (this.#current + step) % n;
      if ((this.#until[i] as number) <= now) return i;
    }
    let best = this.#current;
    for (let i = 0; i < n; i++) if ((this.#until[i] as number) < (this.#until[best] as number)) best = i;
    return best;
  }

  /** The attempt against URL `index` failed at the transport level: cool it down, and move the calls off it. */
  failed(index: number, now: number): void {
    this.#until[index] = now + this.#cooldownMs;
    if (this.#current === index) this.#current = this.pick(now);
  }

  /** Whether a URL other than `index` is out of cool-down (an attempt can go there at once). */
  hasOther(index: number, now: number): boolean {
    return this.#until.some((until, i) => i !== index && until <= now);
  }
}
