/**
 * Records keyed by user-supplied names (attributes, text fields, labels,
 * aggregation labels) read and written as data: a name is never looked up
 * through Object.prototype (`constructor`, `toString`, …), and `__proto__`
 * is stored as an own property instead of replacing the prototype.
 */

/** The own property `name` of `record`, or undefined; never an inherited member. */
export function ownValue<T>(record: Readonly<Record<string, T>> | undefined, name: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, name) ? record[name] : undefined;
}

/** Sets `name` on `record` as an own enumerable data property (`__proto__` included). */
export function setOwn<T>(record: Record<string, T>, name: string, value: T): void {
  if (name === "__proto__") Object.defineProperty(record, name, { value, enumerable: true, writable: true, configurable: true });
  else record[name] = value;
}
