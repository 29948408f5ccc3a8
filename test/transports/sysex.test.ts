// The SysEx framing of CLASP frames (src/transports/sysex.ts): the exact bytes of a message,
// 7-bit packing that survives any frame, splitting under the per-message limit, and a
// reassembler that drops (and counts) what comes out of order and goes on.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  MAX_PARTS,
  MIN_SYSEX_BYTES,
  SysExAssembler,
  SysExError,
  bytesPerPart,
  isClaspSysEx,
  packedSize,
  toSysEx,
} from "../../src/transports/sysex.js";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");
const frames = (items: Array<Uint8Array | SysExError>) => items.filter((x): x is Uint8Array => x instanceof Uint8Array);
const errors = (items: Array<Uint8Array | SysExError>) => items.filter((x): x is SysExError => x instanceof SysExError);

describe("SysEx framing", () => {
  it("writes F0 7D 43 seq index count, then each 7-byte group behind a byte of its top bits, then F7", () => {
    const [m] = toSysEx(new Uint8Array([0x80, 0x01, 0xff]), 5, 256);
    // top bits of 80 01 ff: bit 0 (80) and bit 2 (ff) → 05
    expect(hex(m!)).toBe("f0 7d 43 05 00 00 00 01 05 00 01 7f f7");
    const [g] = toSysEx(new Uint8Array([1, 2, 3, 4, 5, 6, 0x87, 0x88]), 130, 256); // seq wraps mod 128
    expect(hex(g!)).toBe("f0 7d 43 02 00 00 00 01 40 01 02 03 04 05 06 07 01 08 f7");
    expect(isClaspSysEx(m!)).toBe(true);
    expect(isClaspSysEx(new Uint8Array([0xf0, 0x7e, 0x7f, 0x06, 0x01, 0xf7]))).toBe(false); // a universal SysEx
    expect(isClaspSysEx(new Uint8Array([0x90, 60, 100]))).toBe(false);
  });

  it("sizes: n bytes pack into n + ⌈n/7⌉; a 256-byte message carries 210 frame bytes", () => {
    expect([0, 1, 7, 8, 14, 15].map(packedSize)).toEqual([0, 2, 8, 10, 16, 18]);
    expect(bytesPerPart(256)).toBe(210);
    expect(bytesPerPart(MIN_SYSEX_BYTES)).toBe(7);
  });

  it("splits any frame under the limit into 7-bit messages and puts it back together", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: MIN_SYSEX_BYTES, max: 600 }), fc.nat(200), (frame, max, seq) => {
        const messages = toSysEx(frame, seq, max);
        const asm = new SysExAssembler(65_547);
        for (const [i, m] of messages.entries()) {
          expect(m.length).toBeLessThanOrEqual(max);
          expect(m[0]).toBe(0xf0);
          expect(m.at(-1)).toBe(0xf7);
          expect(m.subarray(1, -1).every((b) => b < 0x80)).toBe(true);
          const out = asm.push(m);
          if (i < messages.length - 1) expect(out).toEqual([]);
          else expect(out).toEqual([frame]);
        }
        expect(asm.pending).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a limit under one group and a frame that needs more than 16,383 messages", () => {
    expect(() => toSysEx(new Uint8Array(4), 0, MIN_SYSEX_BYTES - 1)).toThrow(RangeError);
    expect(() => toSysEx(new Uint8Array(MAX_PARTS * 7 + 1), 0, MIN_SYSEX_BYTES)).toThrow(/16383/);
  });
});

describe("SysExAssembler: what it throws away, and that it goes on", () => {
  const frame = (n: number, fill = 0xaa) => new Uint8Array(n).fill(fill);

  it("drops a frame whose part comes out of order, counting its bytes, and takes the next frame", () => {
    const a = toSysEx(frame(100), 1, 32);
    const b = toSysEx(frame(20, 0xbb), 2, 32);
    const asm = new SysExAssembler(65_547);
    expect(asm.push(a[0]!)).toEqual([]);
    const out = asm.push(a[2]!); // part 1 went missing
    expect(errors(out)).toHaveLength(1);
    expect(errors(out)[0]!.message).toMatch(/out of order/);
    expect(errors(out)[0]!.bytes).toBe(a[0]!.length + a[2]!.length);
    expect(asm.push(a[3]!).map((x) => x instanceof SysExError)).toEqual([true]); // the rest of the spoiled frame
    const next = b.flatMap((m) => asm.push(m));
    expect(frames(next)).toEqual([frame(20, 0xbb)]);
  });

  it("reports an unfinished frame when the next one starts, and still delivers the new one", () => {
    const a = toSysEx(frame(100), 7, 32);
    const [single] = toSysEx(frame(5, 0x11), 8, 32);
    const asm = new SysExAssembler(65_547);
    asm.push(a[0]!);
    asm.push(a[1]!);
    const out = asm.push(single!);
    expect(errors(out).map((e) => [e.message, e.bytes])).toEqual([[expect.stringMatching(/before frame 7 was complete/), a[0]!.length + a[1]!.length]]);
    expect(frames(out)).toEqual([frame(5, 0x11)]);
  });

  it("drops a message with a status byte inside, a bad part count, bad packing, or no F7", () => {
    const [good] = toSysEx(frame(10), 0, 64);
    const cases: Uint8Array[] = [
      Uint8Array.from(good!, (b, i) => (i === 10 ? 0x90 : b)), // a note-on status byte in the data
      Uint8Array.from(good!, (b, i) => (i === 7 ? 0 : b)), // part count 0
      Uint8Array.from(good!, (b, i) => (i === 16 ? 0x7f : b)), // the last group (3 bytes) announces top bits of 7
      good!.subarray(0, good!.length - 1), // cut before F7
    ];
    for (const bad of cases) {
      const asm = new SysExAssembler(65_547);
      const out = asm.push(bad);
      expect(out, hex(bad)).toHaveLength(1);
      expect(out[0], hex(bad)).toBeInstanceOf(SysExError);
      expect((out[0] as SysExError).bytes).toBe(bad.length);
      expect(frames(asm.push(good!))).toEqual([frame(10)]);
    }
  });

  it("drops a frame larger than its maximum as soon as it passes it", () => {
    const asm = new SysExAssembler(50);
    const out = toSysEx(frame(80), 3, 32).flatMap((m) => asm.push(m));
    expect(frames(out)).toEqual([]);
    expect(errors(out)[0]!.message).toMatch(/over the maximum of 50/);
  });
});
