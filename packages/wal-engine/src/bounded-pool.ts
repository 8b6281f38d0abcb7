/**
 * runBounded: processes items with at most `concurrency` in flight, starting
 * them in input order (so an oldest-first list is worked oldest-first).
 * Each item's failure is the callback's business: the callback must not
 * throw (a throw stops the pool and is rethrown once the in-flight items end).
 */
export async function runBounded<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  const width = Math.max(1, Math.min(Math.floor(concurrency) || 1, items.length));
  let next = 0;
  let failure: { error: unknown } | undefined;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (failure === undefined && next < items.length) {
        const index = next++;
        try {
          await work(items[index] as T, index);
        } catch (error) {
          failure ??= { error };
        }
      }
    }),
  );
  if (failure !== undefined) throw failure.error;
}
