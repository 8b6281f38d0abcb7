/**
 * SerialQueue: runs async tasks one at a time, in submission order, per key.
 *
 * Every manifest change of one namespace made by this process (a commit
 * group, a label update, a deletion) runs in that namespace's lane, so the
 * process never races itself for the next manifest version; other
 * processes are handled by the create-only commit and rebase.
 */
export class SerialQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const tail = this.#tails.get(key) ?? Promise.resolve();
    const result = tail.then(task);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, settled);
    // Drop the lane once it is idle so the map does not grow with every namespace ever touched.
    void settled.then(() => {
      if (this.#tails.get(key) === settled) this.#tails.delete(key);
    });
    return result;
  }
}
