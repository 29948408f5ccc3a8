// The worker thread behind test/helpers/wamr.ts `wamrInstance`: it owns one
// `clawft-wamr --drive` child process and speaks the drive protocol with it
// (scripts/wamr/main.c documents the bytes). The main thread, blocked in Atomics.wait so that
// wasm calls stay synchronous, sends requests on `port` and is woken through `flag` when the
// answer is posted; the worker's own event loop sees the child's output, its exit and its
// errors. Plain JavaScript: a worker thread loads no TypeScript.
import { workerData } from "node:worker_threads";
import { spawn } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";

const { bin, wasm, options, port, flag } = workerData;
const signal = new Int32Array(flag);

// The host reads requests from one FIFO and answers on another (its stdio stays free for the
// module's WASI output).
const dir = mkdtempSync(join(tmpdir(), "clawft-wamr-"));
const toHost = join(dir, "in");
const fromHost = join(dir, "out");
execFileSync("mkfifo", [toHost, fromHost]);

const child = spawn(bin, [...options, `--drive=${toHost},${fromHost}`, wasm], { stdio: ["ignore", "ignore", "pipe"] });
let stderr = "";
child.stderr.on("data", (d) => (stderr += d));

/** Wakes the main thread with `message`. */
function answer(message) {
  port.postMessage(message);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
}

let failed = false;
function fail(why) {
  if (failed) return;
  failed = true;
  answer({ error: `clawft-wamr ${why}${stderr ? `: ${stderr.trim()}` : ""}` });
}
child.on("error", (e) => fail(`could not start (${e.message})`));
child.on("exit", (code, sig) => {
  // A host that died before opening its FIFOs leaves our opens blocked in libuv's thread
  // pool: open the other ends without blocking to release them.
  for (const f of [toHost, fromHost]) {
    try {
      closeSync(openSync(f, constants.O_RDWR | constants.O_NONBLOCK));
    } catch {}
  }
  rmSync(dir, { recursive: true, force: true });
  setTimeout(() => fail(`exited (${sig ?? code})`), 20); // let the last stderr bytes arrive
});

// Opening a FIFO blocks until both ends are open, so both are opened asynchronously, in the
// host's order (its input first).
const { createWriteStream, createReadStream } = await import("node:fs");
const out = createWriteStream(toHost);
const input = createReadStream(fromHost);

let buf = Buffer.alloc(0);
input.on("data", (d) => {
  buf = buf.length ? Buffer.concat([buf, d]) : d;
  for (;;) {
    const unit = parseUnit(buf);
    if (!unit) return;
    buf = buf.subarray(unit.length);
    answer(unit.message);
  }
});
input.on("error", (e) => fail(`pipe failed (${e.message})`));
out.on("error", (e) => fail(`pipe failed (${e.message})`));

/** A reader over `b` that returns undefined once the bytes run out. */
function reader(b) {
  let at = 0;
  const need = (n) => {
    if (at + n > b.length) throw RangeError("short");
    const from = at;
    at += n;
    return from;
  };
  return {
    get at() {
      return at;
    },
    u8: () => b[need(1)],
    u16: () => b.readUInt16LE(need(2)),
    u32: () => b.readUInt32LE(need(4)),
    bytes: (n) => b.subarray(need(n), at),
    str: () => {
      const n = b.readUInt16LE(need(2));
      return b.toString("utf8", need(n), at);
    },
  };
}

/**
 * One host answer: an optional hello, a memory sync, then a result, a trap or an import call.
 * Returns undefined until all its bytes are there.
 */
function parseUnit(b) {
  const r = reader(b);
  try {
    const message = {};
    let op = r.u8();
    if (op === 0x48 /* H */) {
      const exports = [];
      for (let n = r.u32(); n > 0; n--) exports.push({ name: r.str(), kind: r.u8(), params: r.str(), results: r.str() });
      const imports = [];
      for (let n = r.u32(); n > 0; n--) imports.push({ module: r.str(), name: r.str(), params: r.str(), results: r.str() });
      message.hello = { exports, imports };
      op = r.u8();
    }
    if (op !== 0x53 /* S */) throw new Error(`protocol error: sync expected, got ${op}`);
    message.size = r.u32();
    message.pages = [];
    for (let n = r.u32(); n > 0; n--) {
      const at = r.u32();
      message.pages.push({ at, bytes: Uint8Array.from(r.bytes(r.u32())) });
    }
    op = r.u8();
    if (op === 0x52 /* R */) message.values = Uint8Array.from(r.bytes(8 * r.u8()));
    else if (op === 0x54 /* T */) message.trap = r.str();
    else if (op === 0x58 /* X */) {
      message.import = r.u16();
      message.values = Uint8Array.from(r.bytes(8 * r.u8()));
    } else throw new Error(`protocol error: unexpected op ${op}`);
    return { length: r.at, message };
  } catch (e) {
    if (e instanceof RangeError) return undefined;
    fail(e.message);
    child.kill();
    return undefined;
  }
}

/** Encodes a request: a sync of the main thread's changed pages, then a call or an import's result. */
port.on("message", (req) => {
  if (req.quit) {
    out.end(Buffer.from("Q"));
    return;
  }
  const parts = [];
  const head = Buffer.alloc(9);
  head.write("S", 0);
  head.writeUInt32LE(req.size, 1);
  head.writeUInt32LE(req.pages.length, 5);
  parts.push(head);
  for (const p of req.pages) {
    const h = Buffer.alloc(8);
    h.writeUInt32LE(p.at, 0);
    h.writeUInt32LE(p.bytes.length, 4);
    parts.push(h, p.bytes);
  }
  if (req.call !== undefined) {
    const name = Buffer.from(req.call, "utf8");
    const h = Buffer.alloc(3);
    h.write("C", 0);
    h.writeUInt16LE(name.length, 1);
    parts.push(h, name, Buffer.from([req.values.length / 8]), req.values);
  } else {
    parts.push(Buffer.from([0x52, req.values.length / 8]), req.values);
  }
  out.write(Buffer.concat(parts));
});
