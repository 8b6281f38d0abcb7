import { describe, expect, it } from "vitest";
import {
  ContentHashMismatchError,
  CorruptDataError,
  IdParseError,
  InvalidInputError,
  isContentHashMismatchError,
  isCorruptDataError,
  isIdParseError,
  isInvalidInputError,
  isSchemaError,
  isUnsupportedVersionError,
  isWalFormatError,
  SchemaError,
  UnsupportedVersionError,
} from "@skerry/wal-format";

describe("errors", () => {
  const cases = [
    [new IdParseError("wrong-length", "x", { length: 3 }), "IdParse", isIdParseError],
    [new SchemaError("manifest", "containers[0].kind", "bad"), "Schema", isSchemaError],
    [new UnsupportedVersionError("framed-log", 3, 1), "UnsupportedVersion", isUnsupportedVersionError],
    [new CorruptDataError("row-batch", "truncated", "short", { offset: 5 }), "CorruptData", isCorruptDataError],
    [new ContentHashMismatchError("a", "b"), "ContentHashMismatch", isContentHashMismatchError],
    [new InvalidInputError("nope"), "InvalidInput", isInvalidInputError],
  ] as const;

  it("carry a literal code, a name derived from it, and match only their own guard", () => {
    for (const [error, code, guard] of cases) {
      expect(error.code).toBe(code);
      expect(error.name).toBe(`${code}Error`);
      expect(isWalFormatError(error)).toBe(true);
      expect(guard(error)).toBe(true);
      for (const [, , other] of cases) if (other !== guard) expect(other(error)).toBe(false);
    }
  });

  it("recognize errors from a duplicate install by brand and code, not instanceof", () => {
    const foreign = Object.assign(new Error("from another copy"), {
      code: "CorruptData",
      [Symbol.for("@skerry/wal-format/WalFormatError")]: true,
    });
    expect(isWalFormatError(foreign)).toBe(true);
    expect(isCorruptDataError(foreign)).toBe(true);
    expect(isWalFormatError(new Error("plain"))).toBe(false);
    expect(isWalFormatError({ code: "CorruptData" })).toBe(false);
    expect(isWalFormatError(null)).toBe(false);
  });

  it("name the document and field, the format and offset in their messages", () => {
    expect(new SchemaError("manifest", "containers[0].kind", "bad").message).toBe("manifest: containers[0].kind: bad");
    expect(new CorruptDataError("row-batch", "truncated", "short", { offset: 5 }).message).toBe("row-batch: truncated at byte 5: short");
    const cause = new RangeError("inner");
    expect(new CorruptDataError("x", "malformed", "y", { cause }).cause).toBe(cause);
  });
});
