/**
 * The wasm JSON module (assembly/json) against JavaScript's JSON.parse / JSON.stringify / String(n)
 * as the oracle, through the debug build of the parsers fixture (assertions on): known cases, then
 * fast-check fuzzing of random values, mutated documents (cut, bytes flipped or inserted, invalid
 * UTF-8), deep nesting, huge numbers and long strings. Accept/reject must agree with the oracle,
 * an accepted document must give the same value, and no input may trap.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Parsers, type Outcome } from "./parsers-fixture.js";

const wasm = await Parsers.load();
const enc = new TextEncoder();
const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

type Oracle = { ok: true; value: unknown } | { ok: false };

/** What JSON.parse makes of these bytes read as strict UTF-8 (a BOM kept, so refused). */
function oracleBytes(bytes: Uint8Array): Oracle {
  let text: string;
  try {
    text = fatal.decode(bytes);
  } catch {
    return { ok: false };
  }
  return oracleText(text);
}

function oracleText(text: string): Oracle {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** A value as canonical text: object keys sorted, numbers and strings as JSON.stringify writes them. */
function canon(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canon).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canon(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/** Checks our outcome against the oracle's: same verdict, same value, a sane error offset. */
function agree(ours: Outcome, oracle: Oracle, size: number): void {
  if (oracle.ok) {
    expect(ours, "JSON.parse accepts it").toMatchObject({ ok: true });
    if (ours.ok) expect(canon(JSON.parse(ours.text))).toBe(canon(oracle.value));
  } else {
    expect(ours, "JSON.parse refuses it").toMatchObject({ ok: false });
    if (!ours.ok) {
      expect(ours.reason).not.toBe("");
      expect(ours.at).toBeGreaterThanOrEqual(0);
      expect(ours.at).toBeLessThanOrEqual(size);
    }
  }
}

function checkBytes(bytes: Uint8Array, maxDepth = 128): void {
  agree(wasm.jsonBytes(bytes, maxDepth), oracleBytes(bytes), bytes.length);
}

function checkText(text: string, maxDepth = 128): void {
  agree(wasm.jsonText(text, maxDepth), oracleText(text), text.length);
}

/** Object keys JSON.parse keeps in written order (integer-like keys are moved first in JS). */
function orderKept(v: unknown): boolean {
  if (Array.isArray(v)) return v.every(orderKept);
  if (v !== null && typeof v === "object") {
    return Object.entries(v).every(([k, x]) => !/^(0|[1-9]\d*)$/.test(k) && orderKept(x));
  }
  return true;
}

describe("JSON: known cases", () => {
  it("reads every kind of value and writes it back as JSON.stringify does", () => {
    const text = '{"a":[1,-2.5,0,1e2,-0,true,false,null],"s":"q\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00 ü 日本","o":{"x":{}},"e":[],"z":1E-7}';
    const r = wasm.jsonBytes(enc.encode(text));
    expect(r).toEqual({ ok: true, text: JSON.stringify(JSON.parse(text)) });
  });

  it("keeps repeated member names in order and lets the last one win, as JSON.parse does", () => {
    const r = wasm.jsonBytes(enc.encode('{"a":1,"b":2,"a":3}'));
    expect(r).toEqual({ ok: true, text: '{"a":1,"b":2,"a":3}' });
    expect(JSON.parse((r as { text: string }).text)).toEqual(JSON.parse('{"a":1,"b":2,"a":3}'));
  });

  it.each([
    ["[1,]", "unexpected ']'", 3],
    ['{"a":1,}', "unexpected '}'", 7],
    ["01", "invalid number: leading zero", 1],
    ["-", "unexpected end of input", 1],
    ["1.", "invalid number: no digit after '.'", 2],
    [".5", "unexpected '.'", 0],
    ["1e", "invalid number: no digit in the exponent", 2],
    ["+1", "unexpected '+'", 0],
    ["[1 2]", "unexpected '2'", 3],
    ['{"a" 1}', "unexpected '1'", 5],
    ["{a:1}", "unexpected 'a'", 1],
    ['"\\x"', "invalid escape", 1],
    ['"\\u12G4"', "invalid \\u escape", 5],
    ['"a\nb"', "control character in string", 2],
    ['"abc', "unterminated string", 4],
    ["tru", "unexpected 't'", 0],
    ["nul", "unexpected 'n'", 0],
    ["NaN", "unexpected 'N'", 0],
    ["Infinity", "unexpected 'I'", 0],
    ["1 2", "unexpected '2'", 2],
    ["", "unexpected end of input", 0],
    ["  ", "unexpected end of input", 2],
    ["[", "unexpected end of input", 1],
    ["\u00a0 1", "unexpected byte 0xc2", 0],
    ["\ufeff1", "unexpected byte 0xef", 0],
  ])("refuses %j: %s at %d", (text, reason, at) => {
    expect(oracleText(text).ok).toBe(false);
    expect(wasm.jsonBytes(enc.encode(text))).toEqual({ ok: false, reason, at });
  });

  it("refuses invalid UTF-8 in strings (overlong, surrogate, too large, cut) where the sequence starts", () => {
    for (const bad of [[0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0x80], [0xff], [0xe2, 0x82]]) {
      const bytes = new Uint8Array([0x22, 0x61, ...bad, 0x22]);
      expect(oracleBytes(bytes).ok).toBe(false);
      expect(wasm.jsonBytes(bytes)).toEqual({ ok: false, reason: "invalid UTF-8", at: 2 });
    }
    // The largest code point and the last before the surrogates are fine.
    const ok = new Uint8Array([0x22, 0xf4, 0x8f, 0xbf, 0xbf, 0xed, 0x9f, 0xbf, 0x22]);
    expect(wasm.jsonBytes(ok)).toEqual({ ok: true, text: JSON.stringify(fatal.decode(ok.subarray(1, -1))) });
  });

  it("keeps lone surrogates from text and escapes, and writes them escaped as JSON.stringify does", () => {
    for (const text of ['"\\ud800"', '"\\udc00x"', '"\\ud83d"', "\"\ud800\"", "\"a\udfffb\"", '"\\ud83d\ude00"']) {
      expect(wasm.jsonText(text)).toEqual({ ok: true, text: JSON.stringify(JSON.parse(text)) });
    }
    expect(wasm.jsonText("[1,\ud800]")).toEqual({ ok: false, reason: "unexpected byte 0xed", at: 3 });
  });

  it("gives the offset of a text error in UTF-16 code units", () => {
    // 😀 is two code units (and four bytes): the ']' is unit 8, byte 14.
    expect(wasm.jsonText('["日本😀",]')).toEqual({ ok: false, reason: "unexpected ']'", at: 8 });
    expect(wasm.jsonBytes(enc.encode('["日本😀",]'))).toEqual({ ok: false, reason: "unexpected ']'", at: 14 });
  });

  it("reads huge, tiny and long numbers as JSON.parse does (Infinity written as null)", () => {
    for (const t of ["1e400", "-1e400", "1e-400", "-1e-400", "2.4703282292062327e-324", "2.4703282292062328e-324", "1.7976931348623158e308", "1.7976931348623157e308", "9007199254740993", "0.1e99999999999999999999", "1" + "0".repeat(400), "0." + "0".repeat(400) + "1", "123456789012345678901234567890e-50", "-0", "-0.0e5", "1e-7", "4.9e-324"]) {
      const r = wasm.jsonBytes(enc.encode(`[${t}]`));
      expect(r, t).toEqual({ ok: true, text: JSON.stringify([JSON.parse(t)]) });
    }
  });

  it("stops at the depth limit with an error instead of overflowing the stack", () => {
    const deep = "[".repeat(10_000) + "]".repeat(10_000);
    expect(wasm.jsonBytes(enc.encode(deep))).toEqual({ ok: false, reason: "nesting deeper than 128", at: 128 });
    const objs = '{"a":'.repeat(129) + "1" + "}".repeat(129);
    expect(wasm.jsonBytes(enc.encode(objs))).toMatchObject({ ok: false, reason: "nesting deeper than 128" });
    expect(wasm.jsonBytes(enc.encode('{"a":'.repeat(128) + "1" + "}".repeat(128)))).toMatchObject({ ok: true });
    // Any depth within the limit: parsing and writing are iterative.
    const r = wasm.jsonBytes(enc.encode(deep), 1_000_000);
    expect(r).toEqual({ ok: true, text: deep });
    const mixed = '[{"k":'.repeat(50_000) + "null" + "}]".repeat(50_000);
    expect(wasm.jsonBytes(enc.encode(mixed), 1_000_000)).toEqual({ ok: true, text: mixed });
  });

  it("reads and writes long strings", () => {
    const s = "abc日本😀\u0001\"\\".repeat(100_000);
    const text = JSON.stringify({ s });
    expect(wasm.jsonBytes(enc.encode(text))).toEqual({ ok: true, text });
  });
});

describe("JSON: numbers printed as String(n)", { timeout: 600_000 }, () => {
  it("prints known numbers as JavaScript does", () => {
    for (const x of [0, -0, 1, -1, 0.1, 0.5, 1 / 3, 1e21, 1e20, 123e18, 1.5e-7, 1e-6, 1e-7, 0.000001234, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 5e-324, 1.7976931348623157e308, 2.2250738585072014e-308, 2.225073858507201e-308, 9007199254740991, -123.456, NaN, Infinity, -Infinity, 65.18157971387495, 2 ** -1074 * 3, 1e23, 5e-7, 1.2e-6]) {
      expect(wasm.numberText(x), String(x)).toBe(String(x));
    }
  });

  it("prints 40,000 random doubles exactly as String(n)", () => {
    const bits = new DataView(new ArrayBuffer(8));
    const anyBits = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })).map(([hi, lo]) => {
      bits.setUint32(0, hi);
      bits.setUint32(4, lo);
      return bits.getFloat64(0);
    });
    const decimal = fc.tuple(fc.integer({ min: 1, max: 99_999_999 }), fc.integer({ min: -330, max: 310 })).map(([m, e]) => Number(`${m}e${e}`));
    fc.assert(
      fc.property(fc.oneof(fc.double(), anyBits, decimal), (x) => {
        expect(wasm.numberText(x)).toBe(String(x));
      }),
      { numRuns: 40_000 },
    );
  });

  it("reads 30,000 random decimal strings as Number() does", () => {
    const digits = (max: number) => fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: 1, maxLength: max });
    const literal = fc
      .tuple(fc.boolean(), fc.oneof(digits(20), digits(40), digits(900)), fc.option(digits(30)), fc.option(fc.integer({ min: -400, max: 400 })))
      .map(([neg, int, frac, exp]) => `${neg ? "-" : ""}${int.replace(/^0+(?=\d)/, "")}${frac === null ? "" : `.${frac}`}${exp === null ? "" : `e${exp}`}`);
    // Halfway cases: the exact midpoint between two neighbouring doubles, and just beside it.
    const bits = new DataView(new ArrayBuffer(8));
    const halfway = fc.tuple(fc.integer({ min: 0, max: 0x7fefffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(-1n, 0n, 1n)).map(([hi, lo, nudge]) => {
      bits.setUint32(0, hi);
      bits.setUint32(4, lo);
      const b = bits.getBigUint64(0);
      const exp = Number(b >> 52n);
      const m = (b & ((1n << 52n) - 1n)) | (exp ? 1n << 52n : 0n);
      const q = BigInt((exp || 1) - 1075 - 1);
      // (2m + 1) × 2^q written exactly in decimal, then nudged in its last digit.
      const h = 2n * m + 1n;
      let s: string;
      if (q >= 0n) s = (h << q).toString();
      else {
        const digitsOf = (h * 5n ** -q).toString().padStart(Number(-q) + 1, "0");
        s = `${digitsOf.slice(0, digitsOf.length + Number(q))}.${digitsOf.slice(digitsOf.length + Number(q))}`;
      }
      if (nudge !== 0n) s = s.includes(".") ? s + (nudge > 0n ? "1" : "") : s;
      if (nudge < 0n) s = s.replace(/(\d)$/, (d) => String(Number(d) - 1 < 0 ? 0 : Number(d) - 1));
      return s;
    });
    fc.assert(
      fc.property(fc.oneof(literal, halfway), (t) => {
        const r = wasm.jsonBytes(enc.encode(`[${t}]`));
        expect(r, t).toEqual({ ok: true, text: JSON.stringify([JSON.parse(t)]) });
      }),
      { numRuns: 30_000 },
    );
  });
});

/** Edits that damage a document: set a byte, cut it, insert a byte, or insert an invalid UTF-8 run. */
const SPECIAL = [..."[]{}\",:-+.eE0123456789 \\u\t\n"].map((c) => c.charCodeAt(0));
const INVALID_UTF8 = [[0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xff], [0xef, 0xbb, 0xbf]];
const edits = fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 }), fc.nat({ max: 4 })), { minLength: 1, maxLength: 4 });

function mutate(bytes: Uint8Array, list: Array<[number, number, number]>): Uint8Array {
  let b = Array.from(bytes);
  for (const [pos, x, kind] of list) {
    const at = pos % (b.length + 1);
    if (kind === 0 && at < b.length) b[at] = x;
    else if (kind === 1) b = b.slice(0, at);
    else if (kind === 2) b.splice(at, 0, SPECIAL[x % SPECIAL.length]!);
    else if (kind === 3) b.splice(at, 0, ...INVALID_UTF8[x % INVALID_UTF8.length]!);
    else if (at < b.length) b.splice(at, 1);
  }
  return new Uint8Array(b);
}

describe("JSON: fuzzing against JSON.parse", { timeout: 600_000 }, () => {
  const values = fc.jsonValue({ maxDepth: 6, stringUnit: "grapheme" });

  it("reads 20,000 random values exactly as JSON.parse, and writes them as JSON.stringify", () => {
    fc.assert(
      fc.property(values, fc.boolean(), (v, pretty) => {
        const text = JSON.stringify(v, null, pretty ? 2 : undefined);
        const r = wasm.jsonBytes(enc.encode(text));
        expect(r).toMatchObject({ ok: true });
        if (!r.ok) return;
        expect(canon(JSON.parse(r.text))).toBe(canon(JSON.parse(text)));
        if (orderKept(v)) expect(r.text).toBe(JSON.stringify(JSON.parse(text)));
      }),
      { numRuns: 20_000 },
    );
  });

  it("reads 10,000 random values with any UTF-16 text (lone surrogates) through parseJson", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4, stringUnit: "binary" }), (v) => checkText(JSON.stringify(v))),
      { numRuns: 10_000 },
    );
  });

  it("agrees with JSON.parse on 50,000 damaged documents", () => {
    fc.assert(
      fc.property(values, edits, (v, list) => checkBytes(mutate(enc.encode(JSON.stringify(v)), list))),
      { numRuns: 50_000 },
    );
  });

  it("agrees with JSON.parse on 20,000 damaged texts with surrogates and controls", () => {
    const unit = fc.constantFrom("\ud800", "\udc00", "\ud83d\ude00", "\u0000", "\u001f", "\\", '"', "\\u", "\\ud800", "\\udc00", "e", "-", ".", "0", ",", "]", "}");
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.array(fc.tuple(fc.nat(), unit, fc.boolean()), { maxLength: 3 }), (v, list) => {
        let t = JSON.stringify(v);
        for (const [pos, u, cut] of list) {
          const at = pos % (t.length + 1);
          t = cut ? t.slice(0, at) + u : t.slice(0, at) + u + t.slice(at);
        }
        checkText(t);
      }),
      { numRuns: 20_000 },
    );
  });

  it("agrees with JSON.parse on 30,000 random short byte strings from the JSON alphabet", () => {
    const alphabet = fc.constantFrom(...SPECIAL, 0x74, 0x72, 0x66, 0x61, 0x6c, 0x73, 0x6e, 0x80, 0xc3, 0xa9, 0xff);
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 24 }), (b) => checkBytes(new Uint8Array(b))),
      { numRuns: 30_000 },
    );
  });

  it("agrees with JSON.parse on deep nesting within and beyond the limit", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 12_000 }), fc.boolean(), (depth, limit, cut) => {
        let t = "[".repeat(depth) + "1" + "]".repeat(depth);
        if (cut) t = t.slice(0, t.length - 1);
        const r = wasm.jsonBytes(enc.encode(t), limit);
        if (depth > limit) expect(r).toEqual({ ok: false, reason: `nesting deeper than ${limit}`, at: limit });
        else if (cut) expect(r).toEqual({ ok: false, reason: "unexpected end of input", at: t.length });
        else expect(r).toEqual({ ok: true, text: t });
        expect(oracleText(t).ok).toBe(!cut);
      }),
      { numRuns: 300 },
    );
  });
});
