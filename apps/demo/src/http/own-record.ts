/**
 * `ownRecord(key, value)`: a zod record that keeps every own key of the
 * parsed JSON object as data, `__proto__` included.
 *
 * zod's `z.record` (and `z.json()`, built on it) silently drops a
 * `__proto__` key, so an attribute, text field, label or aggregation named
 * `__proto__` sent over HTTP would be lost without an error. JSON.parse
 * keeps such a key as an own property; this schema validates its value like
 * any other key's and writes it into the output as an own data property
 * (`Object.defineProperty`, never an assignment, which would set the
 * prototype). Keys are read with `Object.keys`, never through the
 * prototype.
 *
 * It is a zod record for everything else (its definition is a record's, so
 * the OpenAPI document shows the same `type: object` with
 * `additionalProperties`), with this parse in place of zod's.
 */
import { z } from "@hono/zod-openapi";

type Payload = z.core.ParsePayload<unknown>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Sets `key` as an own data property; `__proto__` by definition (an assignment would set the prototype). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

const ZodOwnRecord = z.core.$constructor("ZodOwnRecord", (inst: z.ZodRecord, def: z.core.$ZodRecordDef) => {
  z.ZodRecord.init(inst, def);
  inst._zod.parse = (payload: Payload, ctx: z.core.ParseContextInternal) => {
    const input = payload.value;
    if (!isPlainObject(input)) {
      payload.issues.push({ expected: "record", code: "invalid_type", input, inst });
      return payload;
    }
    const out: Record<string, unknown> = {};
    const pending: Promise<void>[] = [];
    for (const key of Object.keys(input)) {
      const keyResult = def.keyType._zod.run({ value: key, issues: [] }, ctx) as Payload;
      if (keyResult instanceof Promise) throw new Error("ownRecord: async key schemas are not supported");
      if (keyResult.issues.length > 0) {
        payload.issues.push({
          code: "invalid_key",
          origin: "record",
          issues: keyResult.issues.map((issue) => z.core.util.finalizeIssue(issue, ctx, z.core.config())),
          input: key,
          path: [key],
          inst,
        });
        continue;
      }
      const outKey = String(keyResult.value);
      const settle = (result: Payload) => {
        if (result.issues.length > 0) payload.issues.push(...z.core.util.prefixIssues(key, result.issues));
        setOwn(out, outKey, result.value);
      };
      const result = def.valueType._zod.run({ value: input[key], issues: [] }, ctx) as Payload | Promise<Payload>;
      if (result instanceof Promise) {
        setOwn(out, outKey, undefined); // the slot now: the output keeps the input's key order
        pending.push(result.then(settle));
      } else settle(result);
    }
    payload.value = out;
    return pending.length === 0 ? payload : Promise.all(pending).then(() => payload);
  };
});

/** `z.record(key, value)` that keeps every own key (`__proto__` included) as data. */
export function ownRecord<K extends z.core.$ZodRecordKey, V extends z.ZodType>(key: K, value: V): z.ZodRecord<K, V> {
  return new ZodOwnRecord({ type: "record", keyType: key, valueType: value } as z.core.$ZodRecordDef) as unknown as z.ZodRecord<K, V>;
}
