/**
 * The same test vectors in every host: the core module under node:wasi, the component
 * transpiled by jco (Node), and the component in the Wasmtime engine (Python `wasmtime`).
 * The component's tapes must equal the core module's word for word, and re-encoding a
 * decoded tape must give the frame back.
 */
import { describe, it, expect } from "vitest";
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import { fileURLToPath } from "node:url";
import { ClaspCodec, ClaspDecodeError } from "../../src/clasp/index.js";
import { VECTORS, hex, unhex } from "./wire.js";
import { runPython, wasmtimeUnavailable } from "../helpers/wasmtime.js";

const BAD = ["53", "5401000141", "530100017f", "5341000621080001ff"].map(unhex);
const ALL = [...VECTORS.map((v) => v.bytes), ...BAD];
/** Frames our encoder writes back byte for byte (the others carry non-canonical forms). */
const CANONICAL = [...VECTORS.map((v) => v.canonical), ...BAD.map(() => false)];
const coreWasm = new URL("../../build/clasp.wasm", import.meta.url);

/** Raw tape words the core module writes for one frame (the reference). */
async function coreTapes(): Promise<number[][]> {
  const { instance } = await WebAssembly.instantiate(await readFile(coreWasm));
  const e = instance.exports as Record<string, (...a: number[]) => number> & { memory: WebAssembly.Memory };
  return ALL.map((bytes) => {
    const p = e.input!(bytes.length);
    new Uint8Array(e.memory.buffer).set(bytes, p);
    e.decode!(bytes.length, 0);
    const info = new Uint32Array(e.memory.buffer, e.info!(), 12);
    return [...new Uint32Array(e.memory.buffer, info[0], info[1]! / 4)];
  });
}

describe("the core module under node:wasi", () => {
  it("decodes the vectors like the default loader", async () => {
    const wasi = new WASI({ version: "preview1", args: [], env: { CLAWFT: "1" }, returnOnExit: true });
    const module = await WebAssembly.compile(await readFile(coreWasm));
    const instance = new WebAssembly.Instance(module, wasi.getImportObject() as WebAssembly.Imports);
    wasi.initialize(instance);
    const codec = ClaspCodec.fromInstance(instance);
    for (const v of VECTORS) expect(codec.decode(v.bytes)).toEqual(v.frame);
    for (const b of BAD) expect(() => codec.decode(b)).toThrow(ClaspDecodeError);
  });
});

describe("the component transpiled by jco", () => {
  it("writes the core module's tapes and re-encodes them to the same frames", async () => {
    const { codec } = (await import("../../build/jco/clasp/clasp.js")) as {
      codec: { decode(b: Uint8Array): Uint32Array; encode(t: Uint32Array, a: Uint8Array, n: number): Uint8Array; reason(id: number): string };
    };
    const expected = await coreTapes();
    ALL.forEach((bytes, i) => {
      const tape = codec.decode(bytes);
      expect([...tape]).toEqual(expected[i]);
      if (CANONICAL[i]) expect(hex(codec.encode(tape, bytes, 1))).toBe(hex(bytes));
      if (!(tape[0]! & 0xff)) expect(codec.reason(tape[3]!)).toMatch(/\w/);
    });
  });

  it("reports encode failures as codec-error results", async () => {
    const { codec } = (await import("../../build/jco/clasp/clasp.js")) as { codec: { encode(t: Uint32Array, a: Uint8Array, n: number): Uint8Array } };
    // jco throws the codec-error record itself: a SET frame node with no fields is a malformed tape.
    let thrown: unknown;
    try {
      codec.encode(new Uint32Array([0x21]), new Uint8Array(), 1);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toEqual({ code: 1002, offset: 0, message: "malformed tape" });
  });
});

describe("the component in the Wasmtime engine", async () => {
  const why = await wasmtimeUnavailable();
  it.skipIf(why)(why ?? "writes the core module's tapes and re-encodes them to the same frames", async () => {
    const script = fileURLToPath(new URL("../hosts/clasp_wasmtime.py", import.meta.url));
    const out = JSON.parse((await runPython(script, [], JSON.stringify(ALL.map(hex)))).toString()) as Array<{
      tape: number[];
      reencoded?: string;
      reason?: string;
      trap?: string;
    }>;
    const expected = await coreTapes();
    out.forEach((r, i) => {
      expect(r.trap).toBeUndefined();
      expect(r.tape).toEqual(expected[i]);
      if (CANONICAL[i]) expect(r.reencoded).toBe(hex(ALL[i]!));
    });
  });
});
