/**
 * Worker side of a `wasi` plugin: runs a WASI preview1 command module inside a worker with its
 * stdin and stdout wired to the worker transport (docs/plugin-protocol.md §7). The WASI
 * implementation is injected (Node: `node:wasi`; browsers: `@bjorn3/browser_wasi_shim`); this
 * module only replaces `fd_read(0)`, `fd_write(1)` and `fd_write(2)`.
 *
 * With a shared stdin mailbox (always in Node; in cross-origin isolated pages) the module runs at
 * once and blocks in `fd_read` until the host sends more: true streaming with backpressure both
 * ways. Without one, stdin is collected up to `maxInputBytes` and the module runs when it ends.
 * Runs in workers of every host (no Node modules).
 * @module
 */
import { END_FRAME, frameHeader } from "./frames.js";
import type { HostToWorker, WorkerToHost } from "./worker-host.js";
import { SHARED_HEADER, WORKER_WINDOW } from "./worker-host.js";

/** A WASI implementation bound to one module run. */
export interface WasiBinding {
  /** The `wasi_snapshot_preview1` import namespace. */
  readonly imports: Record<string, (...args: never[]) => unknown>;
  /** Runs `_start` and returns the exit code (`proc_exit`'s, or 0 when `_start` returns). */
  start(instance: WebAssembly.Instance): number;
}

/** Creates a WASI binding for `args` and `env`. */
export type CreateWasi = (args: readonly string[], env: Readonly<Record<string, string>>) => WasiBinding;

/** The port a worker talks through (`self` in Web Workers, `parentPort` in Node). */
export interface PortLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (ev: { data: unknown }) => void): void;
}

/** The `start` message of a wasi plugin. */
export interface WasiStart {
  readonly type: "start";
  readonly plugin: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** The command module, compiled or as bytes. */
  readonly module: WebAssembly.Module | Uint8Array;
  /** The shared stdin mailbox (see worker-host.ts), when the host can share memory. */
  readonly shared?: SharedArrayBuffer;
  /** Largest stdin collected without a mailbox, in bytes. Defaults to 64 MiB. */
  readonly maxInputBytes?: number;
}

/** Default of {@link WasiStart.maxInputBytes}: 64 MiB. */
const DEFAULT_MAX_INPUT = 64 * 1024 * 1024;
const ERRNO_SUCCESS = 0;
const ERRNO_FAULT = 21;

/** Reads the iovec array at `iovs` (`count` pairs of u32 pointer, u32 length). */
function iovecs(memory: WebAssembly.Memory, iovs: number, count: number): Uint8Array[] {
  const view = new DataView(memory.buffer);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const ptr = view.getUint32(iovs + i * 8, true);
    const len = view.getUint32(iovs + i * 8 + 4, true);
    out.push(new Uint8Array(memory.buffer, ptr, len));
  }
  return out;
}

/**
 * Serves one wasi plugin run on `port`: waits for the `start` message, runs the module, posts
 * `exit`. Unhandled traps become exit code 1 with the trap message on stderr.
 */
export function serveWasi(port: PortLike, createWasi: CreateWasi): void {
  let start: WasiStart | null = null;
  const pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let overflow = false;
  const post = (m: WorkerToHost, transfer?: Transferable[]): void => port.postMessage(m, transfer);

  port.addEventListener("message", (ev) => {
    const m = ev.data as HostToWorker | WasiStart;
    if (m.type === "start") {
      start = m as WasiStart;
      if (start.shared) run(start, null);
    } else if (m.type === "stdin" && start && !overflow) {
      post({ type: "stdin-ack", bytes: m.data.length });
      pendingBytes += m.data.length;
      const limit = start.maxInputBytes ?? DEFAULT_MAX_INPUT;
      if (pendingBytes > limit) {
        overflow = true;
        const msg = new TextEncoder().encode(JSON.stringify({ type: "INPUT_LIMIT", message: `input exceeds ${limit} bytes (no shared memory: this host collects a wasi plugin's whole input first)`, fatal: true }));
        post({ type: "stdout", data: END_FRAME.slice() });
        post({ type: "stdout", data: frameHeader(msg.length) });
        post({ type: "stdout", data: msg });
        post({ type: "exit", code: 1 });
        return;
      }
      pending.push(m.data);
    } else if (m.type === "stdin-end" && start && !start.shared && !overflow) {
      const all = new Uint8Array(pendingBytes);
      let at = 0;
      for (const c of pending) {
        all.set(c, at);
        at += c.length;
      }
      run(start, all);
    }
  });

  function run(s: WasiStart, buffered: Uint8Array | null): void {
    let code: number;
    try {
      code = execute(s, buffered);
    } catch (e) {
      post({ type: "stderr", text: `wasm trapped: ${(e as Error).message}\n` });
      code = 1;
    }
    post({ type: "exit", code });
  }

  function execute(s: WasiStart, buffered: Uint8Array | null): number {
    const module = s.module instanceof WebAssembly.Module ? s.module : new WebAssembly.Module(s.module as BufferSource);
    const wasi = createWasi(s.args, s.env);
    const ctl = s.shared ? new Int32Array(s.shared, 0, SHARED_HEADER / 4) : null;
    const mailbox = s.shared ? new Uint8Array(s.shared, SHARED_HEADER) : null;
    let mailboxAt = 0;
    let bufferedAt = 0;
    let eof = false;
    let memory: WebAssembly.Memory | null = null;
    const decoder = new TextDecoder();
    const base = wasi.imports;

    /** Copies up to `room` stdin bytes into `dst` views; blocks on the mailbox when empty. */
    const readStdin = (dst: Uint8Array[]): number => {
      let total = 0;
      for (const d of dst) {
        let at = 0;
        while (at < d.length) {
          if (buffered) {
            const n = Math.min(d.length - at, buffered.length - bufferedAt);
            d.set(buffered.subarray(bufferedAt, bufferedAt + n), at);
            bufferedAt += n;
            at += n;
            if (n === 0) break;
            continue;
          }
          if (eof) break;
          let avail = Atomics.load(ctl!, 0);
          if (avail === 0) {
            if (total + at > 0) break; // return what we have rather than block
            Atomics.wait(ctl!, 0, 0);
            avail = Atomics.load(ctl!, 0);
          }
          if (avail === -1) {
            eof = true;
            break;
          }
          if (avail === 0) continue;
          const n = Math.min(d.length - at, avail - mailboxAt);
          d.set(mailbox!.subarray(mailboxAt, mailboxAt + n), at);
          mailboxAt += n;
          at += n;
          if (mailboxAt === avail) {
            mailboxAt = 0;
            Atomics.store(ctl!, 0, 0);
            Atomics.notify(ctl!, 0);
          }
        }
        total += at;
        if (at < d.length) break;
      }
      return total;
    };

    const imports = {
      ...base,
      fd_read: (fd: number, iovs: number, count: number, nread: number): number => {
        if (fd !== 0) return (base.fd_read as (...a: number[]) => number)(fd, iovs, count, nread);
        try {
          const n = readStdin(iovecs(memory!, iovs, count));
          new DataView(memory!.buffer).setUint32(nread, n, true);
          return ERRNO_SUCCESS;
        } catch {
          return ERRNO_FAULT;
        }
      },
      fd_write: (fd: number, iovs: number, count: number, nwritten: number): number => {
        if (fd !== 1 && fd !== 2) return (base.fd_write as (...a: number[]) => number)(fd, iovs, count, nwritten);
        try {
          const parts = iovecs(memory!, iovs, count);
          let n = 0;
          for (const p of parts) n += p.length;
          const bytes = new Uint8Array(n);
          let at = 0;
          for (const p of parts) {
            bytes.set(p, at);
            at += p.length;
          }
          if (fd === 2) post({ type: "stderr", text: decoder.decode(bytes) });
          else if (n > 0) {
            post({ type: "stdout", data: bytes }, [bytes.buffer]);
            if (ctl) {
              // Backpressure: wait while the host has not consumed a window's worth.
              let v = Atomics.add(ctl, 1, n) + n;
              while (v > WORKER_WINDOW) {
                Atomics.wait(ctl, 1, v, 1000);
                v = Atomics.load(ctl, 1);
              }
            }
          }
          new DataView(memory!.buffer).setUint32(nwritten, n, true);
          return ERRNO_SUCCESS;
        } catch {
          return ERRNO_FAULT;
        }
      },
    };
    const instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: imports });
    memory = instance.exports.memory as WebAssembly.Memory;
    if (!(memory instanceof WebAssembly.Memory) || typeof instance.exports._start !== "function") {
      throw new Error("not a WASI command module (it must export memory and _start)");
    }
    return wasi.start(instance);
  }
}
