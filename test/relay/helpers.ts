/**
 * Helpers of the relay tests: a raw CLASP client over `ws` and our codec (sees every frame,
 * sends any bytes), relays on ephemeral ports, polling, and relay child processes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { codec, type Message } from "../../src/clasp/index.js";
import { Relay, type RelayOptions } from "../../src/relay/index.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Waits until `cond()` is true (polling every 5 ms). @throws after `ms` */
export async function until(cond: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A relay on an ephemeral loopback port, without the playground, logging into `logs`. */
export async function startRelay(options: RelayOptions = {}): Promise<Relay & { logs: string[] }> {
  const logs: string[] = [];
  const relay = await Relay.start({ port: 0, web: false, log: (m) => logs.push(m), ...options });
  return Object.assign(relay, { logs });
}

/**
 * Opens `count` sockets to `url` at once (subprotocol `clasp`); every other one says HELLO as
 * soon as it is open. Each close code is pushed to `closes`. Resolves with the sockets once all
 * are open; rejects when the upgrade is refused.
 */
export function openAtOnce(url: string, count: number, closes: number[]): Promise<WebSocket[]> {
  return Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url, ["clasp"]);
          ws.on("error", () => {});
          ws.on("close", (code) => closes.push(code));
          ws.once("open", () => {
            if (i % 2) ws.send(codec.encode({ type: "HELLO", version: 1, name: `c${i}`, features: [] }));
            resolve(ws);
          });
          ws.once("unexpected-response", reject);
        }),
    ),
  );
}

/** A CLASP client that records every frame it receives, decoded. */
export class RawClient {
  readonly messages: Message[] = [];
  /** Frames that did not decode. */
  readonly garbage: Uint8Array[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer, isBinary) => {
      if (!isBinary) return;
      try {
        this.messages.push(codec.decode(new Uint8Array(data)).message);
      } catch {
        this.garbage.push(new Uint8Array(data));
      }
    });
    ws.on("error", () => {});
    this.closed = new Promise((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Connects (requesting the `clasp` subprotocol unless `protocols` says otherwise). */
  static open(url: string, protocols: string[] = ["clasp"]): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols);
      const c = new RawClient(ws);
      ws.once("open", () => resolve(c));
      ws.once("error", reject);
    });
  }

  /** Connects and completes HELLO → WELCOME (+ the SNAPSHOT that follows). */
  static async hello(url: string, token?: string): Promise<RawClient> {
    const c = await RawClient.open(url);
    c.send({ type: "HELLO", version: 1, name: "raw", features: ["param", "event"], ...(token ? { token } : {}) });
    await c.next("WELCOME");
    await c.next("SNAPSHOT");
    return c;
  }

  send(m: Message | Uint8Array): void {
    this.ws.send(m instanceof Uint8Array ? m : codec.encode(m));
  }

  /** Messages of `type` received so far. */
  of<T extends Message["type"]>(type: T): Array<Extract<Message, { type: T }>> {
    return this.messages.filter((m) => m.type === type) as Array<Extract<Message, { type: T }>>;
  }

  #cursor = new Map<string, number>();

  /** The next message of `type` not yet returned by `next`. */
  async next<T extends Message["type"]>(type: T, ms = 5000): Promise<Extract<Message, { type: T }>> {
    const seen = this.#cursor.get(type) ?? 0;
    await until(() => this.of(type).length > seen, ms, `${type} #${seen + 1}`);
    this.#cursor.set(type, seen + 1);
    return this.of(type)[seen]!;
  }

  close(): void {
    this.ws.close();
  }
}

/** A `clawft relay` child process (built from src with tsx), with its output collected. */
export interface RelayProcess {
  proc: ChildProcess;
  out: string[];
  /** ws:// URL once it printed it. */
  url: string;
  /** Resolves with (exit code, signal). */
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

/** Starts `clawft relay` with `args` in a child process and waits for its URL. */
export async function spawnRelay(args: string[], env: Record<string, string> = {}): Promise<RelayProcess> {
  const proc = spawn(process.execPath, ["--import", "tsx", "src/cli/index.ts", "relay", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // A failing test must not leave its relay running.
  const kill = () => proc.kill("SIGKILL");
  process.once("exit", kill);
  proc.once("exit", () => process.off("exit", kill));
  const out: string[] = [];
  const onData = (d: Buffer) => out.push(...d.toString().split("\n").filter(Boolean));
  proc.stdout!.on("data", onData);
  proc.stderr!.on("data", onData);
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => proc.on("exit", (code, sig) => resolve([code, sig])));
  let url = "";
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));
  await until(
    () => {
      const line = out.find((l) => l.startsWith("clawft relay on "));
      if (line && out.some((l) => l.startsWith("playground: "))) url = /ws:\/\/\S+/.exec(line)![0];
      return !!url || exitedEarly;
    },
    30_000,
    "the relay's URL",
  );
  if (!url) throw new Error(`relay exited early:\n${out.join("\n")}`);
  return { proc, out, url, exited };
}
