/**
 * The device side end to end (issue 11, "Proof, end to end"): a serial line made of a socat
 * pseudo-terminal pair; on one end WAMR runs `build/clawft.p1.wasm router` with the terminal
 * as its stdin and stdout, on the other end `clawft relay --serial` (the real CLI, run from
 * src/cli with tsx as the other relay tests do), and the real @clasp-to/core 3.3.2 client on
 * the relay's WebSocket sets, gets and subscribes to params that live on the device. The WAMR
 * process is killed (SIGKILL) while SETs stream over the line and started again: the relay
 * reconnects and the device's state, revisions too, is back from `$CLAWFT_HOME/state/`.
 *
 * The WAMR process gets the pty itself as file descriptors 0 and 1 (opened here, passed to
 * spawn), so the router reads and writes the terminal directly, as it would a UART on a
 * board: no pipe or socat `EXEC:` socketpair sits between WAMR and the line. This process
 * keeps its own descriptor of that end open while the device is down, so the line stays up
 * through a device reset (a UART's case; an unplugged USB device is relay-serial.test.ts's).
 *
 * The device's own SETs: `clawft.wasm router` links no application, so while it serves the
 * line nothing on the device but the line sets a param (a TTL expiry is silent). What the
 * device itself does is a local session on its router's state between two runs of the line's
 * router — the device's boot script (`router` with its stdin from a file, as a firmware would
 * record its boot) — and the relay's clients see those SETs when the device comes back.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { codec, type DecodedFrame, type Message } from "../../src/clasp/index.js";
import { spawnRelay, type RelayProcess } from "../relay/helpers.js";
import { NO_SOCAT, PtyPair, sleep, until } from "../transports/helpers.js";
import { runWamr, wamrCommand, wamrUnavailable } from "../helpers/wamr.js";

(globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
const { Clasp } = await import("@clasp-to/core");

const WASM = fileURLToPath(new URL("../../build/clawft.p1.wasm", import.meta.url));
const skip = NO_SOCAT ?? (await wamrUnavailable());

const HELLO: Message = { type: "HELLO", version: 1, name: "device console", features: ["param"] };

/** The device: `clawft-wamr … clawft.p1.wasm router` with the line's terminal as stdin and stdout. */
class WamrDevice {
  readonly stderr: string[] = [];
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;

  private constructor(readonly proc: ChildProcess) {
    proc.stderr!.on("data", (d: Buffer) => this.stderr.push(d.toString()));
    this.exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve([code, signal])));
    const kill = () => proc.kill("SIGKILL");
    process.once("exit", kill); // a failing test must not leave a device running
    proc.once("exit", () => process.off("exit", kill));
  }

  /** Starts the router on terminal descriptor `line`, its home `home`. */
  static boot(line: number, home: string): WamrDevice {
    const [program, argv] = wamrCommand(WASM, ["router"], { dirs: [home], env: { CLAWFT_HOME: home } });
    return new WamrDevice(spawn(program, argv, { stdio: [line, line, "pipe"] }));
  }

  /** Pulls the plug: SIGKILL, whatever the router was doing. */
  async kill(): Promise<void> {
    this.proc.kill("SIGKILL");
    await this.exited;
  }
}

/**
 * One local session of the device's router on its state (the line's router not running):
 * `messages` in on stdin; the router's answers decoded.
 */
async function consoleSession(home: string, messages: Message[]): Promise<Message[]> {
  const r = await runWamr(WASM, ["router"], { dirs: [home], env: { CLAWFT_HOME: home }, stdin: Buffer.concat(codec.encodeBatch([HELLO, ...messages], { framing: "slip" })) });
  expect(r.code, r.stderr).toBe(0);
  return (codec.createDecoder({ framing: "slip" }).push(r.stdout) as DecodedFrame[]).map((f) => f.message);
}

/** The device's params as address → [value, revision], from a console session's SNAPSHOT. */
async function deviceState(home: string): Promise<Map<string, [unknown, number]>> {
  const snapshot = (await consoleSession(home, [])).find((m) => m.type === "SNAPSHOT");
  if (snapshot?.type !== "SNAPSHOT") throw new Error("no SNAPSHOT from the device");
  return new Map(snapshot.params.map((p) => [p.address, [p.value, Number(p.revision)]]));
}

describe.skipIf(skip)(`a WAMR device on a pty joined to clawft relay --serial${skip ? ` (${skip})` : ""}`, () => {
  let pair: PtyPair;
  let home: string;
  let line: number;
  let device: WamrDevice | undefined;
  let relay: RelayProcess | undefined;
  const clients: Array<InstanceType<typeof Clasp>> = [];

  beforeAll(async () => {
    vi.spyOn(console, "debug").mockImplementation(() => {}); // the 3.3.2 client logs every ACK
    vi.spyOn(console, "error").mockImplementation(() => {}); // …and every ERROR (the offline window)
    home = mkdtempSync(join(tmpdir(), "clawft-e2e-"));
    pair = await PtyPair.create();
    line = openSync(pair.b, "r+");
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    relay?.proc.kill("SIGTERM");
    await relay?.exited;
    await device?.kill();
    if (line !== undefined) closeSync(line);
    await pair?.close();
    rmSync(home, { recursive: true, force: true });
    vi.restoreAllMocks();
  });

  it("sets, gets and subscribes to the device's params through the relay, and has them back, revisions too, after the WAMR process is killed mid-stream", async () => {
    // First boot: the device's boot script records its readings, then the router takes the line.
    await consoleSession(home, [
      { type: "SET", address: "/device/boots", value: 1 },
      { type: "SET", address: "/sensor/temp", value: 20.5 },
      { type: "SET", address: "/led/1", value: 0 },
    ]);
    device = WamrDevice.boot(line, home);
    relay = await spawnRelay(["--port", "0", "--no-web", "--serial", `${pair.a}:115200`]);
    const attached = () => relay!.out.filter((l) => l.startsWith(`serial ${pair.a}: device `) && l.includes(" attached at 115200 baud")).length;
    await until(() => attached() === 1, 20_000, "the WAMR device to attach");

    const client = new Clasp(relay.url, { name: "desk", reconnect: false });
    await client.connect();
    clients.push(client);
    const seen: Array<[string, unknown]> = [];
    client.subscribe("/**", (value, address) => seen.push([address, value]));
    const last = (address: string) => seen.findLast(([a]) => a === address)?.[1];

    // The device's params, from its SNAPSHOT, are on the relay.
    await until(() => last("/sensor/temp") === 20.5 && last("/device/boots") === 1 && last("/led/1") === 0, 10_000, "the device's params");
    expect(await client.get("/sensor/temp")).toBe(20.5);

    // A client's SET goes to the WAMR router, which acknowledges it; then the relay applies it.
    client.set("/led/1", 1);
    await until(() => last("/led/1") === 1, 10_000, "the SET acknowledged by the device");
    expect(await client.get("/led/1")).toBe(1);
    client.set("/sensor/label", "kitchen");
    await until(() => last("/sensor/label") === "kitchen", 10_000, "a new param on the device");

    // SETs stream over the line; the device is killed in the middle of them.
    let sent = 0;
    const stream = setInterval(() => client.set("/stream/n", ++sent), 10);
    await until(() => Number(last("/stream/n") ?? 0) >= 20, 10_000, "the stream to flow");
    await device.kill();
    const ackedBeforeKill = Number(last("/stream/n"));
    await sleep(100);
    clearInterval(stream);
    const lastSent = sent;
    expect(device.stderr.join("")).not.toMatch(/end of input/); // it died, it did not finish

    // What the dead router left in $CLAWFT_HOME/state/: every SET it acknowledged, with its
    // revision (SET k of /stream/n is its revision k), and perhaps one it did not get to answer.
    const saved = await deviceState(home);
    const [n, revision] = saved.get("/stream/n")!;
    expect(n).toBeGreaterThanOrEqual(ackedBeforeKill);
    expect(n).toBeLessThanOrEqual(lastSent);
    expect(revision).toBe(n);
    expect(saved.get("/led/1")).toEqual([1, 2]);

    // The relay notices (no PONG on a line that stays up) and keeps trying.
    await until(() => relay!.out.some((l) => l.startsWith(`serial ${pair.a}: device lost`)), 20_000, "the relay to notice");

    // Second boot: the boot script's own SET, then the router on the same line and state.
    await consoleSession(home, [{ type: "SET", address: "/device/boots", value: 2 }]);
    device = WamrDevice.boot(line, home);
    await until(() => attached() === 2, 30_000, "the relay to reconnect to the restarted device");

    // The device's own SET and every param it acknowledged before the kill come back.
    await until(() => last("/device/boots") === 2, 10_000, "the device's own SET from its boot");
    expect(await client.get("/led/1")).toBe(1);
    expect(await client.get("/sensor/label")).toBe("kitchen");
    expect(await client.get("/sensor/temp")).toBe(20.5);
    await until(() => last("/stream/n") === n, 10_000, "the device's saved /stream/n on the relay");

    // The restarted router takes SETs again, its revisions going on from the saved ones.
    client.set("/led/1", 2);
    await until(() => last("/led/1") === 2, 10_000, "a SET on the restarted device");

    relay.proc.kill("SIGTERM");
    expect(await relay.exited).toEqual([0, null]);
    relay = undefined;
    await device.kill();
    device = undefined;
    const state = await deviceState(home);
    expect(state.get("/device/boots")).toEqual([2, 2]);
    expect(state.get("/sensor/temp")).toEqual([20.5, 1]);
    expect(state.get("/led/1")).toEqual([2, 3]); // 0 at boot, 1 before the kill, 2 after
    expect(state.get("/sensor/label")).toEqual(["kitchen", 1]);
    expect(state.get("/stream/n")).toEqual([n, n]); // SET k is the param's revision k
  }, 120_000);
});
