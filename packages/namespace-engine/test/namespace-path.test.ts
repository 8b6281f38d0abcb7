import { describe, expect, it } from "vitest";
import {
  formatNamespacePath,
  isInvalidArgument,
  manifestKey,
  manifestVersionOf,
  namespacePath,
  namespaceRoot,
  parseNamespacePath,
  registryKey,
} from "@skerry/namespace-engine";

const bad = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return isInvalidArgument(error);
  }
  return false;
};

describe("namespace paths", () => {
  it("accept 1-128 ASCII letters, digits, '-', '_' and '.'", () => {
    expect(namespacePath("acme", "search", "docs")).toEqual({ org: "acme", project: "search", namespace: "docs" });
    expect(namespacePath("acme", "search", "docs-v1.2_x").namespace).toBe("docs-v1.2_x");
    expect(namespacePath("a", "b", "x".repeat(128)).namespace).toHaveLength(128);
  });

  it("reject empty, too long, non-ASCII, slashes and reserved leading characters", () => {
    expect(bad(() => namespacePath("", "p", "n"))).toBe(true);
    expect(bad(() => namespacePath("a", "p", "x".repeat(129)))).toBe(true);
    expect(bad(() => namespacePath("a/b", "p", "n"))).toBe(true);
    expect(bad(() => namespacePath("a", "p", "ö"))).toBe(true);
    expect(bad(() => namespacePath("a", "p", "with space"))).toBe(true);
    expect(bad(() => namespacePath("_meta", "p", "n"))).toBe(true);
    expect(bad(() => namespacePath("a", ".hidden", "n"))).toBe(true);
    expect(bad(() => namespacePath("a", "p", "-dash"))).toBe(true);
  });

  it("reject '..' anywhere, so no part can climb out of its prefix", () => {
    expect(bad(() => namespacePath("a..b", "p", "n"))).toBe(true);
    expect(bad(() => namespacePath("a", "p", "x.."))).toBe(true);
    expect(bad(() => parseNamespacePath("../../etc/passwd"))).toBe(true);
  });

  it("parse org/project/namespace and round-trip its text form", () => {
    const path = parseNamespacePath("acme/search/docs");
    expect(formatNamespacePath(path)).toBe("acme/search/docs");
    expect(bad(() => parseNamespacePath("a/b"))).toBe(true);
    expect(bad(() => parseNamespacePath("a/b/c/d"))).toBe(true);
  });
});

describe("storage layout", () => {
  const path = namespacePath("acme", "search", "docs");

  it("names manifests so that newer versions sort first", () => {
    const keys = [1, 2, 9, 10, 11, 100, 12345].map((v) => manifestKey(path, v));
    const sorted = [...keys].sort();
    expect(sorted).toEqual([...keys].reverse());
    expect(keys.map((k) => manifestVersionOf(path, k))).toEqual([1, 2, 9, 10, 11, 100, 12345]);
    expect(manifestVersionOf(path, `${namespaceRoot(path)}/log/x.log`)).toBeUndefined();
  });

  it("keeps project-level objects under a '_' prefix that no namespace can take", () => {
    expect(registryKey(path)).toBe("acme/search/_project/namespaces/docs");
    expect(namespaceRoot(path)).toBe("acme/search/ns/docs");
  });
});
