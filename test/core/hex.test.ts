import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { toHex, fromHex, HexError } from "../../src/core/hex.js";

describe("hex", () => {
  it("agrees with Node's Buffer and round-trips any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = toHex(bytes);
        expect(text).toBe(Buffer.from(bytes).toString("hex"));
        expect(fromHex(text)).toEqual(bytes);
        expect(fromHex(text.toUpperCase())).toEqual(bytes);
      }),
    );
  });

  it("refuses an odd digit count and non-hex characters with HexError", () => {
    for (const bad of ["0", "abc", "zz", "0x00", "00 11", "é0"]) {
      expect(() => fromHex(bad), bad).toThrow(HexError);
    }
    expect(fromHex("")).toEqual(new Uint8Array(0));
  });
});
