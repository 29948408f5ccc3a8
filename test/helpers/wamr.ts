/**
 * WAMR in the tests: the `clawft-wamr` host that scripts/wamr.sh builds from WAMR's C source
 * (crates.io `wamrx-sys`) into `.wamr/bin/`. Two ways in:
 * - {@link runWamr} runs a WASI preview1 command, as `iwasm` would;
 * - {@link wamrInstance} runs a raw-ABI core (a reactor) in WAMR and hands back a synchronous,
 *   `WebAssembly.Instance`-shaped object, so the TypeScript faces in `src/` drive the very
 *   same module bytes there as in Node (see scripts/wamr/main.c, "drive").
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { MessageChannel, Worker, receiveMessageOnPort } from "node:worker_threads";

const BIN = fileURLToPath(new URL("../../.wamr/bin/clawft-wamr", import.meta.url));
const BIN_SIMD = fileURLToPath(new URL("../../.wamr/bin/clawft-wamr-simd", import.meta.url));

let probe: Promise<string | undefined> | undefined;

/**
 * Why WAMR tests cannot run here, or `undefined` when they can: the host must have been built
 * by scripts/wamr.sh (which `.ci/run` calls; it needs cargo, cmake and a C compiler). For
 * `it.skipIf(reason)`, naming the reason.
 */
export function wamrUnavailable(): Promise<string | undefined> {
  probe ??= new Promise((resolve) => {
    if (!existsSync(BIN)) return resolve("skipped: WAMR host not built (run scripts/wamr.sh; needs cargo and cmake)");
    execFile(BIN, ["--version"], (err) => resolve(err ? `skipped: WAMR host does not run (${err.message})` : undefined));
  });
  return probe;
}

/** Why the SIMD build of the WAMR host is missing (Debian's libsimde-dev absent), or undefined. */
export async function wamrSimdUnavailable(): Promise<string | undefined> {
  return (await wamrUnavailable()) ?? (existsSync(BIN_SIMD) ? undefined : "skipped: no SIMD WAMR host (scripts/wamr.sh builds one when libsimde-dev is installed)");
}

/** What a WASI command run in WAMR did. */
export interface WamrRun {
  /** Exit status: the module's proc_exit code, 1 when WAMR refused or trapped it. */
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** WASI settings of {@link runWamr}. */
export interface WamrOptions {
  /** Host directories to preopen, each under its own path (`--dir`), or `GUEST::HOST` maps (`--map-dir`). */
  dirs?: string[];
  /** The module's whole environment (WAMR passes none of the host's). */
  env?: Record<string, string>;
  /** Bytes written to the module's stdin (then closed). */
  stdin?: Uint8Array | string;
  /** Addresses the socket extension may reach, e.g. `["127.0.0.1/32"]` (`--addr-pool`). */
  addrPool?: string[];
  /** Domains sock_addr_resolve may look up (`--allow-resolve`). */
  allowResolve?: string[];
  /** Use the SIMD build of the host. */
  simd?: boolean;
  /** Kill the run after this many milliseconds (default 60 000). */
  timeoutMs?: number;
  /** Called with each piece of stdout as it arrives (to react to a streaming module). */
  onStdout?: (chunk: Buffer) => void;
}

function hostArgs(o: WamrOptions): string[] {
  const args: string[] = [];
  for (const d of o.dirs ?? []) args.push(d.includes("::") ? `--map-dir=${d}` : `--dir=${d}`);
  for (const [k, v] of Object.entries(o.env ?? {})) args.push(`--env=${k}=${v}`);
  if (o.addrPool?.length) args.push(`--addr-pool=${o.addrPool.join(",")}`);
  if (o.allowResolve?.length) args.push(`--allow-resolve=${o.allowResolve.join(",")}`);
  return args;
}

/**
 * The command line that runs `wasm` with `args` in WAMR: [program, argv], for a test that
 * drives the process itself (e.g. keeps its stdin open). `stdin`, `timeoutMs` and `onStdout`
 * are {@link runWamr}'s and ignored here.
 */
export function wamrCommand(wasm: string, args: string[] = [], o: WamrOptions = {}): [string, string[]] {
  return [o.simd ? BIN_SIMD : BIN, [...hostArgs(o), wasm, ...args]];
}

/**
 * Runs a WASI preview1 command module in WAMR (`_start`, arguments `args`).
 * @param wasm path of the module
 * @returns its exit code and output; rejects only when the host cannot be started or times out
 */
export function runWamr(wasm: string, args: string[] = [], o: WamrOptions = {}): Promise<WamrRun> {
  return new Promise((resolve, reject) => {
    const [program, argv] = wamrCommand(wasm, args, o);
    const child = spawn(program, argv, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`clawft-wamr ${wasm} ${args.join(" ")} timed out; stderr: ${stderr}`));
    }, o.timeoutMs ?? 60_000);
    child.stdout.on("data", (d: Buffer) => {
      out.push(d);
      o.onStdout?.(d);
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", (e) => (clearTimeout(timer), reject(e)));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out), stderr });
    });
    child.stdin.on("error", () => {}); // a module that exits without reading its stdin
    child.stdin.end(o.stdin ?? "");
  });
}

/** One step's answer from the driver worker (test/helpers/wamr-driver.mjs). */
interface Unit {
  error?: string;
  hello?: { exports: Signature[]; imports: (Signature & { module: string })[] };
  size: number;
  pages: { at: number; bytes: Uint8Array }[];
  values?: Uint8Array;
  trap?: string;
  import?: number;
}
interface Signature {
  name: string;
  kind?: number;
  params: string;
  results: string;
}

const PAGE = 4096;

/** A module instance running in WAMR; {@link close} ends its host process. */
export interface WamrInstance {
  readonly exports: Record<string, unknown>;
  close(): void;
}

/**
 * Instantiates a reactor module in WAMR (the SIMD host with `simd`). Exported functions become
 * synchronous JavaScript functions with the JS API's value conventions (i32 as a signed
 * number, i64 as a bigint); the exported `memory` is a mirror whose `buffer` is replaced when
 * the module grows it, as a `WebAssembly.Memory`'s is. `imports[module][name]` answer the
 * module's non-WASI imports. A trap throws `WebAssembly.RuntimeError` with WAMR's message.
 * @param timeoutMs how long one call may take before the host is killed and the call throws
 */
export function wamrInstance(
  wasm: string,
  imports: Record<string, Record<string, (...a: never[]) => unknown>> = {},
  o: { simd?: boolean; timeoutMs?: number } = {},
): WamrInstance {
  const flag = new SharedArrayBuffer(4);
  const signal = new Int32Array(flag);
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL("./wamr-driver.mjs", import.meta.url), {
    workerData: { bin: o.simd ? BIN_SIMD : BIN, wasm, options: [], port: port2, flag },
    transferList: [port2],
  });
  worker.unref();
  port1.unref();
  const timeout = o.timeoutMs ?? 60_000;
  let closed = false;

  let mem = new Uint8Array(0);
  let shadow = new Uint8Array(0);
  // A WebAssembly.Memory to `instanceof` (the faces check it) whose buffer is the mirror.
  const memory = Object.create(WebAssembly.Memory.prototype, {
    buffer: { get: () => mem.buffer as ArrayBuffer },
  }) as WebAssembly.Memory;

  function close(): void {
    if (closed) return;
    closed = true;
    port1.postMessage({ quit: true });
    setTimeout(() => void worker.terminate(), 1000).unref();
  }

  /** Waits for the worker's next answer and applies its memory pages. */
  function receive(): Unit {
    const waited = Atomics.wait(signal, 0, 0, timeout);
    Atomics.store(signal, 0, 0);
    const got = receiveMessageOnPort(port1)?.message as Unit | undefined;
    if (!got) {
      close();
      throw new Error(waited === "timed-out" ? `WAMR call timed out after ${timeout} ms` : "WAMR driver sent nothing");
    }
    if (got.error) {
      closed = true;
      throw new Error(got.error);
    }
    if (got.size > mem.length) {
      const grown = new Uint8Array(got.size);
      grown.set(mem);
      mem = grown;
      const s = new Uint8Array(got.size);
      s.set(shadow);
      shadow = s;
    }
    for (const p of got.pages) {
      mem.set(p.bytes, p.at);
      shadow.set(p.bytes, p.at);
    }
    return got;
  }

  /** The pages JavaScript wrote since the last sync. */
  function dirty(): { at: number; bytes: Uint8Array }[] {
    const pages = [];
    const a = Buffer.from(mem.buffer, mem.byteOffset, mem.length);
    const b = Buffer.from(shadow.buffer, shadow.byteOffset, shadow.length);
    for (let at = 0; at < mem.length; at += PAGE) {
      if (a.compare(b, at, at + PAGE, at, at + PAGE) !== 0) {
        const bytes = mem.slice(at, at + PAGE);
        shadow.set(bytes, at);
        pages.push({ at, bytes });
      }
    }
    return pages;
  }

  function send(req: { call?: string; values: Uint8Array }): void {
    if (closed) throw new Error("the WAMR instance is closed");
    port1.postMessage({ ...req, size: mem.length, pages: dirty() });
  }

  const hello = receive().hello!;

  function call(name: string, sig: Signature, args: unknown[]): unknown {
    send({ call: name, values: encode(sig.params, args) });
    for (;;) {
      const u = receive();
      if (u.trap !== undefined) throw new WebAssembly.RuntimeError(`${name}: ${u.trap}`);
      if (u.import === undefined) {
        const results = decode(sig.results, u.values!);
        return results.length === 0 ? undefined : results.length === 1 ? results[0] : results;
      }
      const imp = hello.imports[u.import]!;
      const fn = imports[imp.module]?.[imp.name];
      if (!fn) {
        close();
        throw new WebAssembly.LinkError(`import ${imp.module}.${imp.name} was called but not provided`);
      }
      const result = (fn as (...a: unknown[]) => unknown)(...decode(imp.params, u.values!));
      send({ values: encode(imp.results, imp.results ? [result] : []) });
    }
  }

  const exports: Record<string, unknown> = {};
  for (const e of hello.exports) {
    if (e.kind === 2) exports[e.name] = memory;
    else exports[e.name] = (...args: unknown[]) => call(e.name, e, args);
  }
  return { exports, close };
}

/** Argument values as the protocol's u64 bit patterns, by type letter (i I f F). */
function encode(types: string, values: unknown[]): Uint8Array {
  const out = new DataView(new ArrayBuffer(8 * types.length));
  [...types].forEach((t, i) => {
    const v = values[i];
    if (t === "i") out.setUint32(8 * i, Number(v) >>> 0, true);
    else if (t === "I") out.setBigUint64(8 * i, BigInt.asUintN(64, BigInt(v as bigint)), true);
    else if (t === "f") out.setFloat32(8 * i, Number(v), true);
    else if (t === "F") out.setFloat64(8 * i, Number(v), true);
    else throw new TypeError(`unsupported wasm value type ${t}`);
  });
  return new Uint8Array(out.buffer);
}

function decode(types: string, bytes: Uint8Array): unknown[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return [...types].map((t, i) =>
    t === "i" ? v.getInt32(8 * i, true) : t === "I" ? v.getBigInt64(8 * i, true) : t === "f" ? v.getFloat32(8 * i, true) : v.getFloat64(8 * i, true),
  );
}
