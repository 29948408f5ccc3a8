/**
 * Loads the parsers test fixture (test/fixtures/assembly/parsers.ts → build/debug/parsers.wasm, the debug
 * build: assertions and bounds checks on) and calls its raw ABI. A trap inside the wasm surfaces
 * as a thrown WebAssembly.RuntimeError, which the tests treat as a failure.
 */
import { readFile } from "node:fs/promises";

/** A verb's outcome: the UTF-8 result text, or the error text with its offset or line. */
export type Outcome = { ok: true; text: string } | { ok: false; reason: string; at: number };

interface Exports {
  memory: WebAssembly.Memory;
  input(size: number): number;
  resultPtr(): number;
  resultLen(): number;
  errorAt(): number;
  jsonBytes(len: number, maxDepth: number): number;
  jsonText(len: number, maxDepth: number): number;
  numberText(x: number): number;
  sseNew(maxLine: number): void;
  sseFeed(len: number): number;
  sseEnd(): number;
  tomlParse(len: number): number;
}

/** An event as the SSE parser dispatched it. */
export interface SseEventOut {
  event: string;
  data: string;
  id: string;
}

/** What one SseParser.feed or .end call gave, with the parser's state after it. */
export interface SseStep {
  events: SseEventOut[];
  error: string;
  retry: number;
}

const utf8 = new TextDecoder();

/** One instance of the fixture module. */
export class Parsers {
  private constructor(private readonly x: Exports) {}

  /** Instantiates build/debug/parsers.wasm (or `url`). */
  static async load(url = new URL("../../build/debug/parsers.wasm", import.meta.url)): Promise<Parsers> {
    const { instance } = await WebAssembly.instantiate(await readFile(url), {});
    return new Parsers(instance.exports as unknown as Exports);
  }

  private write(bytes: Uint8Array): number {
    const p = this.x.input(Math.max(bytes.length, 1));
    new Uint8Array(this.x.memory.buffer, p, bytes.length).set(bytes);
    return bytes.length;
  }

  private result(ok: number): Outcome {
    const text = this.text();
    return ok ? { ok: true, text } : { ok: false, reason: text, at: this.x.errorAt() };
  }

  /** parseJsonBytes(bytes, maxDepth) → stringify(value), or the error (offset in bytes). */
  jsonBytes(bytes: Uint8Array, maxDepth = 128): Outcome {
    return this.result(this.x.jsonBytes(this.write(bytes), maxDepth));
  }

  /** parseJson(text, maxDepth) → stringify(value), or the error (offset in UTF-16 code units). */
  jsonText(text: string, maxDepth = 128): Outcome {
    const units = new Uint16Array(text.length);
    for (let i = 0; i < text.length; i++) units[i] = text.charCodeAt(i);
    return this.result(this.x.jsonText(this.write(new Uint8Array(units.buffer)), maxDepth));
  }

  /** Starts a new SSE stream (a new SseParser with this line limit in bytes). */
  sseNew(maxLine = 1 << 20): void {
    this.x.sseNew(maxLine);
  }

  /** SseParser.feed(chunk). */
  sseFeed(chunk: Uint8Array): SseStep {
    this.x.sseFeed(this.write(chunk));
    return JSON.parse(this.text()) as SseStep;
  }

  /** SseParser.end(). */
  sseEnd(): SseStep {
    this.x.sseEnd();
    return JSON.parse(this.text()) as SseStep;
  }

  private text(): string {
    return utf8.decode(new Uint8Array(this.x.memory.buffer, this.x.resultPtr(), this.x.resultLen()));
  }

  /** parseToml(text) → stringify of the tree (inf/nan as "Infinity"/"-Infinity"/"NaN"), or the error (line in `at`). */
  toml(text: string): Outcome {
    return this.result(this.x.tomlParse(this.write(new TextEncoder().encode(text))));
  }

  /** formatF64(x), which must equal String(x). */
  numberText(x: number): string {
    this.x.numberText(x);
    return this.text();
  }
}
