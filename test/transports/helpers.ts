/**
 * Helpers of the device-link tests: a socat pseudo-terminal pair (a serial line without
 * hardware: `socat pty,raw,echo=0,link=A pty,raw,echo=0,link=B`, toolchain.md), and a fake
 * device on the far end — a MiniRouter reading and writing SLIP frames with plain file
 * descriptor I/O, as `clawft.wasm router` does on stdin/stdout — whose params persist in a
 * storage that outlives a "reboot".
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, writeSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ReadStream } from "node:tty";
import { codec, encode, type ClaspValueInput, type Message } from "../../src/clasp/index.js";
import { MiniRouter } from "../../src/clasp/router.js";
import { RouterHost, type HostPeer } from "../../src/relay/host.js";
import { StatePersister } from "../../src/relay/persist.js";
import { MemoryStorage } from "../../src/storage/memory.js";

/** Why the pty tests cannot run here, or undefined when socat is installed. */
export const NO_SOCAT: string | undefined =
  spawnSync("socat", ["-V"], { stdio: "ignore" }).error === undefined ? undefined : "skipped: socat not installed (Debian package socat)";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `cond()` is true (polling every 5 ms). @throws after `ms` */
export async function until(cond: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** A socat pty pair: `a` and `b` are symlinks to the two terminals; bytes written to one come out of the other. */
export class PtyPair {
  #proc: ChildProcess | undefined;

  private constructor(
    readonly dir: string,
    readonly a: string,
    readonly b: string,
  ) {}

  /** Makes a pair in a fresh temporary directory. */
  static async create(): Promise<PtyPair> {
    const dir = await mkdtemp(join(tmpdir(), "clawft-pty-"));
    const pair = new PtyPair(dir, join(dir, "a"), join(dir, "b"));
    await pair.up();
    return pair;
  }

  /** Starts socat (again): the links point at new terminals. */
  async up(): Promise<void> {
    if (this.#proc) return;
    const proc = spawn("socat", [`pty,raw,echo=0,link=${this.a}`, `pty,raw,echo=0,link=${this.b}`], { stdio: "ignore" });
    this.#proc = proc;
    proc.on("exit", () => {
      if (this.#proc === proc) this.#proc = undefined;
    });
    await until(() => existsSync(this.a) && existsSync(this.b), 5000, "socat's pty links");
  }

  /** Stops socat: both terminals vanish, as an unplugged USB device does. */
  async down(): Promise<void> {
    const proc = this.#proc;
    if (!proc) return;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGTERM");
    await exited;
    this.#proc = undefined;
  }

  async close(): Promise<void> {
    await this.down();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** One end of a pty opened the plain way: a tty read stream, blocking writes on the fd. */
export class PtyEnd {
  readonly #fd: number;
  readonly #in: ReadStream;
  readonly received: Uint8Array[] = [];
  #closed = false;

  constructor(path: string, onData?: (chunk: Uint8Array) => void) {
    this.#fd = openSync(path, "r+");
    this.#in = new ReadStream(this.#fd);
    this.#in.on("data", (chunk: Buffer) => {
      const bytes = new Uint8Array(chunk);
      if (onData) onData(bytes);
      else this.received.push(bytes);
    });
    this.#in.on("error", () => {}); // EIO when socat goes away
  }

  /** Every byte received so far (when no `onData` was given). */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.received.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of this.received) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  write(bytes: Uint8Array): void {
    if (this.#closed) return;
    let at = 0;
    while (at < bytes.length) at += writeSync(this.#fd, bytes, at);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#in.destroy();
    try {
      closeSync(this.#fd);
    } catch {
      // already closed with the stream
    }
  }
}

/**
 * A device that runs a CLASP router on the far end of the line (what `clawft.wasm router` is):
 * the line is one session of its router, SLIP-framed; the device's own app is another,
 * which sets params on it. Params persist in `storage`, so a device started again on the same
 * storage has them back.
 */
export class FakeDevice {
  readonly host: RouterHost;
  readonly #persister: StatePersister;
  readonly #end: PtyEnd;
  readonly #reader = codec.createReader({ framing: "slip" });
  #line = 0;
  #app = 0;
  /** Frames the router sent to the app session, decoded. */
  readonly appInbox: Message[] = [];
  /** Frames the line session sent and received, decoded (for assertions). */
  readonly lineIn: Message[] = [];

  private constructor(host: RouterHost, persister: StatePersister, path: string) {
    this.host = host;
    this.#persister = persister;
    const line: HostPeer = {
      send: (frame) => this.#end.write(codec.wrapFrame(frame, "slip")),
      close: () => {
        // The router ended the line's session; the line stays: a fresh session for what follows.
        this.host.detach(this.#line);
        this.#line = this.host.attach(line);
      },
    };
    this.#end = new PtyEnd(path, (chunk) => {
      for (const f of this.#reader.push(chunk)) {
        if (!(f instanceof Uint8Array)) continue;
        try {
          this.lineIn.push(codec.decode(f).message);
        } catch {
          // the router answers it
        }
        this.host.receive(this.#line, f);
      }
    });
    this.#line = host.attach(line);
    this.#app = host.attach({
      send: (frame) => this.appInbox.push(codec.decode(frame).message),
      close: () => {},
    });
    host.receive(this.#app, encode({ type: "HELLO", version: 1, name: "device app", features: ["param", "event"] }));
  }

  /** Boots a device on pty end `path`, its params restored from `storage`. */
  static async boot(path: string, storage: MemoryStorage): Promise<FakeDevice> {
    const router = await MiniRouter.load({ name: "fake device" });
    const persister = new StatePersister(storage, { delayMs: 0, prefix: "device/" });
    await persister.restore(router);
    return new FakeDevice(new RouterHost(router, { persister }), persister, path);
  }

  /** The device's app sets a param on the device's router. */
  set(address: string, value: ClaspValueInput): void {
    this.host.receive(this.#app, encode({ type: "SET", address, value: value as never }));
  }

  /** The device's app sets a param and holds its lock (others' SETs on it are refused, 401). */
  lock(address: string, value: ClaspValueInput): void {
    this.host.receive(this.#app, encode({ type: "SET", address, value: value as never, lock: true }));
  }

  /** The device's app subscribes to `pattern` (what it receives lands in `appInbox`). */
  subscribe(pattern: string, id = 1): void {
    this.host.receive(this.#app, encode({ type: "SUBSCRIBE", id, pattern }));
  }

  /** Writes raw bytes on the line (noise, partial frames). */
  writeRaw(bytes: Uint8Array): void {
    this.#end.write(bytes);
  }

  /** The device stops (its state is written first). */
  async shutdown(): Promise<void> {
    await this.#persister.flush();
    this.host.stop();
    this.#end.close();
    this.#reader.close();
  }
}

export { MemoryStorage };
