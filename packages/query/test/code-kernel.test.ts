import { describe, expect, it } from "vitest";
import { assembleCodeKernel, CodeKernel } from "../src/code-kernel.ts";
import { wasmApi } from "../src/wasm-api.ts";
import { seededRandom } from "./support/reference.ts";

/** The first pass's weighted code sums: the WebAssembly kernel against a plain float64 loop, for strides 4 mod 8 and 0 mod 8. */
describe("code kernel", () => {
  for (const stride of [4, 8, 12, 128, 132, 256, 260]) {
    it(`sums weighted 8-bit codes like a plain loop (stride ${stride})`, () => {
      const random = seededRandom(stride);
      const count = 333;
      const codes = Uint8Array.from({ length: count * stride }, () => Math.floor(random() * 256));
      const w = Float64Array.from({ length: stride }, () => Math.fround(random() * 2 - 1));
      const kernel = new CodeKernel(stride);
      expect(kernel.wasm).toBe(stride <= 256);
      // Twice: the memory is reused, and a larger call grows it.
      for (const rows of [count, 17, count]) {
        const got = kernel.dots(w, codes, rows, new Float64Array(rows));
        for (let r = 0; r < rows; r++) {
          let want = 0;
          for (let d = 0; d < stride; d++) want += w[d]! * codes[r * stride + d]!;
          expect(Math.abs(got[r]! - want), `row ${r}`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want)) * stride);
        }
      }
    });
  }

  it("assembles a valid module", () => {
    const api = wasmApi as NonNullable<typeof wasmApi>;
    for (const stride of [4, 8, 128, 252, 256]) expect(() => new api.Module(assembleCodeKernel(stride))).not.toThrow();
  });
});
