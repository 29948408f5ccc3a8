// A small SDK for JavaScript pipeline plugins (docs/plugin-protocol.md): frames, handshake,
// end and error frames, over Node stdio (process plugins) or worker messages (worker plugins).
// Plain JavaScript with JSDoc types so Node runs it as is and bundlers take it unchanged.

/** @typedef {{protocol: string, input_type: string, output_type: string, config: Record<string, string|number|boolean>, max_frame: number}} Handshake */
/** @typedef {{read(): Promise<Uint8Array|null>, write(bytes: Uint8Array): Promise<void>, log(text: string): void, exit(code: number): Promise<void>}} Transport */

/** A failure the plugin reports in an error frame: `{type, message, fatal}`. */
export class PluginError extends Error {
  /**
   * @param {string} type upper-snake-case error type, e.g. INVALID_INPUT
   * @param {string} message human-readable explanation
   * @param {boolean} [fatal] true (default): abort the pipeline
   */
  constructor(type, message, fatal = true) {
    super(message);
    this.name = "PluginError";
    this.type = type;
    this.fatal = fatal;
  }
}

/** Transport over this Node process's stdin/stdout (a `process` plugin). */
export async function stdioTransport() {
  const { stdin, stdout, stderr } = process;
  const it = stdin[Symbol.asyncIterator]();
  return {
    async read() {
      const r = await it.next();
      return r.done ? null : new Uint8Array(r.value.buffer, r.value.byteOffset, r.value.length);
    },
    write(bytes) {
      return new Promise((resolve, reject) => {
        if (stdout.write(bytes)) resolve();
        else {
          const onDrain = () => (stdout.off("error", onError), resolve());
          const onError = (e) => (stdout.off("drain", onDrain), reject(e));
          stdout.once("drain", onDrain);
          stdout.once("error", onError);
        }
      });
    },
    log(text) {
      stderr.write(text);
    },
    async exit(code) {
      // Let stdout flush before exiting (a pipe may be slower than us).
      await new Promise((resolve) => stdout.write(new Uint8Array(0), resolve));
      process.exit(code);
    },
  };
}

const WINDOW = 256 * 1024;

/**
 * Transport over worker messages (a `worker` plugin): `stdin`/`stdin-end`/`stdout-ack` in,
 * `stdout`/`stdin-ack`/`stderr`/`exit` out, at most 256 KiB unacknowledged each way.
 * @param {{postMessage(m: unknown, t?: Transferable[]): void, addEventListener(t: "message", f: (e: {data: any}) => void): void}} port
 *   `self` in a Web Worker (Node's runner provides the same shape)
 * @param {Array<{data: any}>} [early] messages that arrived before this transport was created
 */
export function workerTransport(port, early = []) {
  /** @type {Uint8Array[]} */
  const queue = [];
  let ended = false;
  let unacked = 0;
  /** @type {(() => void) | null} */
  let wakeReader = null;
  /** @type {(() => void) | null} */
  let wakeWriter = null;
  const onMessage = (/** @type {{data: any}} */ ev) => {
    const m = ev.data;
    if (m.type === "stdin") queue.push(m.data);
    else if (m.type === "stdin-end") ended = true;
    else if (m.type === "stdout-ack") {
      unacked -= m.bytes;
      wakeWriter?.();
    }
    wakeReader?.();
  };
  early.forEach(onMessage);
  port.addEventListener("message", onMessage);
  return {
    async read() {
      while (queue.length === 0 && !ended) await new Promise((r) => (wakeReader = r));
      const chunk = queue.shift();
      if (!chunk) return null;
      port.postMessage({ type: "stdin-ack", bytes: chunk.length });
      return chunk;
    },
    async write(bytes) {
      while (unacked >= WINDOW) await new Promise((r) => (wakeWriter = r));
      const copy = bytes.slice();
      unacked += copy.length;
      port.postMessage({ type: "stdout", data: copy }, [copy.buffer]);
    },
    log(text) {
      port.postMessage({ type: "stderr", text });
    },
    async exit(code) {
      port.postMessage({ type: "exit", code });
    },
  };
}

/** Pulls whole frames out of a transport's byte chunks. */
class FrameSource {
  /** @param {Transport} t @param {number} maxFrame */
  constructor(t, maxFrame) {
    this.t = t;
    this.maxFrame = maxFrame;
    /** @type {Uint8Array} */
    this.buf = new Uint8Array(0);
  }
  /** @param {number} n @returns {Promise<Uint8Array|null>} exactly n bytes, or null at end of stdin */
  async take(n) {
    if (this.buf.length < n) {
      const parts = [this.buf];
      let have = this.buf.length;
      while (have < n) {
        const chunk = await this.t.read();
        if (chunk === null) return null;
        parts.push(chunk);
        have += chunk.length;
      }
      this.buf = new Uint8Array(have);
      let at = 0;
      for (const p of parts) {
        this.buf.set(p, at);
        at += p.length;
      }
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  /** @returns {Promise<Uint8Array|null>} the next payload ("" = end frame), or null at end of stdin */
  async next() {
    const head = await this.take(4);
    if (head === null) return null;
    const n = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true);
    if (n > this.maxFrame) throw new PluginError("INVALID_INPUT", `frame of ${n} bytes exceeds max_frame ${this.maxFrame}`);
    return this.take(n);
  }
}

/** @param {Uint8Array} payload */
function frame(payload) {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length, true);
  out.set(payload, 4);
  return out;
}

/**
 * @typedef {object} PluginContext
 * @property {Handshake} handshake the host's handshake
 * @property {Record<string, string|number|boolean>} config the node's options (defaults filled in)
 * @property {AsyncIterable<Uint8Array>} input the input payloads, cut anywhere, until the end frame
 * @property {(bytes: Uint8Array) => Promise<void>} write sends output (cut into frames of at most max_frame)
 * @property {(text: string) => void} log writes to stderr
 */

/**
 * Runs a plugin to completion: reads the handshake (refusing another protocol major version),
 * calls `handler`, then sends the end frame and exits 0; a thrown {@link PluginError} (or any
 * error, as `INTERNAL`) becomes an error frame and exit code 1.
 * @param {Transport | Promise<Transport>} transport
 * @param {(ctx: PluginContext) => Promise<void>} handler
 * @param {{input?: string[], output?: string[]}} [types] accepted input/output types, checked against the handshake
 */
export async function runPlugin(transport, handler, types = {}) {
  const t = await transport;
  const frames = new FrameSource(t, 1 << 20);
  let code = 0;
  try {
    const first = await frames.next();
    if (first === null) return await t.exit(1); // host aborted before the handshake
    /** @type {Handshake} */
    const hs = JSON.parse(new TextDecoder().decode(first));
    if (String(hs.protocol).split(".")[0] !== "1") throw new PluginError("UNSUPPORTED_PROTOCOL", `protocol ${hs.protocol} (this plugin implements 1.x)`);
    if (types.input && !types.input.includes(hs.input_type)) throw new PluginError("UNSUPPORTED_TYPE", `input type ${hs.input_type} (accepts ${types.input.join(", ")})`);
    if (types.output && !types.output.includes(hs.output_type)) throw new PluginError("UNSUPPORTED_TYPE", `output type ${hs.output_type} (produces ${types.output.join(", ")})`);
    const maxFrame = hs.max_frame > 0 ? hs.max_frame : 1 << 20;
    frames.maxFrame = maxFrame;
    let inputDone = false;
    const input = {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const p = await frames.next();
          if (p === null) throw new PluginError("INVALID_INPUT", "stdin ended without an end frame (the host aborted)");
          if (p.length === 0) {
            inputDone = true;
            return;
          }
          yield p;
        }
      },
    };
    const write = async (/** @type {Uint8Array} */ bytes) => {
      for (let at = 0; at < bytes.length; at += maxFrame) await t.write(frame(bytes.subarray(at, Math.min(bytes.length, at + maxFrame))));
    };
    await handler({ handshake: hs, config: hs.config ?? {}, input, write, log: (s) => t.log(s) });
    if (!inputDone) for await (const _ of input); // drain unread input up to the end frame
    await t.write(frame(new Uint8Array(0)));
  } catch (e) {
    const err = e instanceof PluginError ? e : new PluginError("INTERNAL", e instanceof Error ? e.stack ?? e.message : String(e));
    code = 1;
    try {
      await t.write(frame(new Uint8Array(0)));
      await t.write(frame(new TextEncoder().encode(JSON.stringify({ type: err.type, message: err.message, fatal: err.fatal }))));
    } catch {
      // stdout is gone: the host stopped listening; the exit code still tells it.
    }
  }
  await t.exit(code);
}
