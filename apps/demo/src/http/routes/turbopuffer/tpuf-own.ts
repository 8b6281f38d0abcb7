/**
 * Attribute names are data: `setOwn` writes a key as an own property even
 * when it is `__proto__` (a plain assignment would set the prototype), and
 * `ownValue` reads only own properties (never `constructor`, `toString`...
 * from the prototype).
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

export function ownValue(source: Readonly<Record<string, unknown>> | undefined, key: string): unknown {
  return source !== undefined && Object.hasOwn(source, key) ? source[key] : undefined;
}
