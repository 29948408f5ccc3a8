/**
 * `clawft.wasm router` (assembly/agent/router.ts): the agent's MiniRouter as one CLASP session
 * over stdin/stdout, SLIP-framed or length-prefixed, in node:wasi and in WAMR. Frames are
 * written and read by the TypeScript codec (src/clasp). The command is run as it ships:
 * `build/clawft.p1.wasm router`, dispatched by assembly/agent/main.ts.
 */
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { fileURLToPath } from "node:url";
import { mkdtempSync, rmSync, readFileSync, writeFileSync, existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { codec, type DecodedFrame, type Message } from "../../src/clasp/index.js";
import { runNodeWasi } from "../helpers/node-wasi.js";
import { runWamr, wamrCommand, wamrUnavailable } from "../helpers/wamr.js";
import { spawn } from "node:child_process";

const WASM = fileURLToPath(new URL("../../build/clawft.p1.wasm", import.meta.url));
const skipWamr = await wamrUnavailable();

type Framing = "slip" | "length-prefixed";
/** Runs `clawft.wasm router ARGS…` with `stdin`. */
type Run = (args: string[], stdin: Uint8Array) => Promise<{ code: number; stdout: Buffer; stderr: string }>;

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "clawft-router-"));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const HOSTS: Array<[string, string | undefined, Run]> = [
  ["node:wasi", undefined, (args, stdin) => runNodeWasi(WASM, ["router", ...args], { dirs: [home], env: { CLAWFT_HOME: home }, stdin })],
  ["WAMR", skipWamr, (args, stdin) => runWamr(WASM, ["router", ...args], { dirs: [home], env: { CLAWFT_HOME: home }, stdin })],
];

const HELLO: Message = { type: "HELLO", version: 1, name: "device-test", features: ["param", "event"] };
const frames = (messages: Message[], framing: Framing = "slip") => Buffer.concat(codec.encodeBatch(messages, { framing }));

/** Runs one session; its output decoded (every frame must decode) and its exit summary. */
async function session(run: Run, input: Uint8Array, framing: Framing = "slip") {
  const r = await run(framing === "slip" ? [] : ["--framing", "length"], input);
  const decoder = codec.createDecoder({ framing });
  const out = decoder.push(r.stdout);
  expect(decoder.pending).toBe(0);
  decoder.close();
  for (const f of out) expect(f).not.toBeInstanceOf(Error);
  const messages = (out as DecodedFrame[]).map((f) => f.message);
  const summary = /frames in (\d+), out (\d+), dropped (\d+) \((\d+) bytes lost\)/.exec(r.stderr);
  return { ...r, messages, summary: summary && summary.slice(1).map(Number) };
}

/** A SNAPSHOT's params as [address, value, revision], by address (the router's order is its table's). */
const snapshotOf = (m: Message | undefined) =>
  m?.type === "SNAPSHOT" ? m.params.map((p) => [p.address, p.value, Number(p.revision)]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))) : m;

for (const [host, skip, run] of HOSTS) {
  describe.skipIf(skip)(`router mode in ${host} ${skip ?? ""}`, () => {
    it("answers a session over SLIP and exits 0 at end of input", async () => {
      const s = await session(run, frames([HELLO, { type: "SET", address: "/dev/led", value: 1 }, { type: "GET", address: "/dev/led" }, { type: "PING" }]));
      expect(s.code).toBe(0);
      expect(s.messages.map((m) => m.type)).toEqual(["WELCOME", "SNAPSHOT", "ACK", "SNAPSHOT", "PONG"]);
      expect(snapshotOf(s.messages[1])).toEqual([]);
      expect(s.messages[2]).toMatchObject({ type: "ACK", address: "/dev/led", revision: 1 });
      expect(snapshotOf(s.messages[3])).toEqual([["/dev/led", 1, 1]]);
      expect(s.summary).toEqual([4, 5, 0, 0]);
    });

    it("persists params with their revisions in $CLAWFT_HOME/state/ and has them back after a restart", async () => {
      const first = await session(run, frames([HELLO, { type: "SET", address: "/a", value: 1 }, { type: "SET", address: "/a", value: 2 }, { type: "SET", address: "/b", value: "x" }]));
      expect(first.code).toBe(0);
      expect(existsSync(join(home, "state"))).toBe(true);
      const second = await session(run, frames([HELLO, { type: "SET", address: "/a", value: 3 }]));
      expect(second.code).toBe(0);
      expect(snapshotOf(second.messages[1])).toEqual([
        ["/a", 2, 2],
        ["/b", "x", 1],
      ]);
      expect(second.messages[2]).toMatchObject({ type: "ACK", address: "/a", revision: 3 });
    });

    it("drops line noise, a truncated frame, a bad escape and an oversized packet, counts them, and the session goes on", async () => {
      const set = codec.encode({ type: "SET", address: "/cut", value: 42 });
      const noise = Buffer.from("noise on the line");
      const oversized = Buffer.alloc(70_000, 0x55);
      const input = Buffer.concat([
        frames([HELLO]),
        noise, Buffer.from([0xc0]),
        set.subarray(0, 6), Buffer.from([0xc0]), // a frame cut short by a reset
        Buffer.from([0xdb, 0x41, 0x42, 0xc0]), // ESC followed by neither ESC_END nor ESC_ESC
        oversized, Buffer.from([0xc0]),
        frames([{ type: "SET", address: "/ok", value: true }, { type: "GET", address: "/ok" }]),
        set.subarray(0, 5), // cut short by the end of input
      ]);
      const s = await session(run, input);
      expect(s.code).toBe(0);
      expect(s.messages.map((m) => m.type)).toEqual(["WELCOME", "SNAPSHOT", "ACK", "SNAPSHOT"]);
      expect(snapshotOf(s.messages[3])).toEqual([["/ok", true, 1]]);
      expect(s.stderr.match(/dropped input at byte/g)).toHaveLength(4);
      const [framesIn, framesOut, dropped, lost] = s.summary!;
      expect([framesIn, framesOut, dropped]).toEqual([3, 4, 5]);
      expect(lost).toBe(noise.length + 6 + 3 + oversized.length + 5);
    });

    it("speaks u32 length-prefixed frames with --framing length, skipping an oversized frame by its length", async () => {
      const big = Buffer.alloc(4 + 100_000, 0x11);
      big.writeUInt32BE(100_000, 0);
      const garbage = Buffer.from([0, 0, 0, 3, 1, 2, 3]); // a whole packet that is no frame
      const input = Buffer.concat([
        frames([HELLO], "length-prefixed"),
        big,
        garbage,
        frames([{ type: "SET", address: "/len", value: 7 }, { type: "GET", address: "/len" }], "length-prefixed"),
      ]);
      const s = await session(run, input, "length-prefixed");
      expect(s.code).toBe(0);
      expect(s.messages.map((m) => m.type)).toEqual(["WELCOME", "SNAPSHOT", "ACK", "SNAPSHOT"]);
      expect(snapshotOf(s.messages[3])).toEqual([["/len", 7, 1]]);
      const [framesIn, , dropped, lost] = s.summary!;
      expect([framesIn, dropped]).toEqual([3, 2]);
      expect(lost).toBe(big.length + garbage.length);
    });

    it("refuses a bad command line with exit 2", async () => {
      const r = await run(["--framing", "morse"], new Uint8Array());
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--framing takes slip or length/);
    });

    it("refuses a corrupt state snapshot with exit 1 and leaves it as it was", async () => {
      mkdirSync(join(home, "state"));
      const junk = Buffer.from("CLST not really a snapshot, but long enough to be read as one......");
      writeFileSync(join(home, "state", "params"), junk);
      const r = await run([], frames([HELLO]));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^clawft: router: state\/params: /);
      expect(r.stdout.length).toBe(0);
      expect(readFileSync(join(home, "state", "params"))).toEqual(junk);
    });
  });
}

describe.skipIf(skipWamr)(`one state for both hosts ${skipWamr ?? ""}`, () => {
  it("params a WAMR run saved are there in node:wasi, and the reverse", async () => {
    const [, , node] = HOSTS[0]!;
    const [, , wamr] = HOSTS[1]!;
    await session(wamr, frames([HELLO, { type: "SET", address: "/shared", value: "from wamr" }]));
    const inNode = await session(node, frames([HELLO, { type: "SET", address: "/shared", value: "from node" }]));
    expect(snapshotOf(inNode.messages[1])).toEqual([["/shared", "from wamr", 1]]);
    const inWamr = await session(wamr, frames([HELLO]));
    expect(snapshotOf(inWamr.messages[1])).toEqual([["/shared", "from node", 2]]);
  });
});

describe.skipIf(skipWamr)(`the router's clock while the line is idle ${skipWamr ?? ""}`, () => {
  it("expires a param with a TTL and saves its deletion while no byte arrives", async () => {
    const [program, argv] = wamrCommand(WASM, ["router"], { dirs: [home], env: { CLAWFT_HOME: home } });
    const child = spawn(program, argv, { stdio: ["pipe", "pipe", "pipe"] });
    const exited = new Promise<number | null>((r) => child.on("close", r));
    const out: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stdin.write(frames([HELLO, { type: "SET", address: "/blink", value: 1, ttl: 1 }]));
    // the state log gets the SET, then, with the line silent, the deletion (a record of length 0)
    const log = join(home, "state", "params.log");
    const deletion = Buffer.from([0, 0, 0, 6, ...Buffer.from("/blink"), 0, 0, 0, 0]);
    let saved = false;
    for (let i = 0; i < 100 && !saved; i++) {
      await new Promise((r) => setTimeout(r, 100));
      saved = existsSync(log) && readFileSync(log).includes(deletion);
    }
    expect(saved).toBe(true);
    child.stdin.end(frames([{ type: "GET", address: "/blink" }]));
    expect(await exited).toBe(0);
    const messages = (codec.createDecoder({ framing: "slip" }).push(Buffer.concat(out)) as DecodedFrame[]).map((f) => f.message);
    expect(messages.at(-1)).toMatchObject({ type: "ERROR", code: 201 });
  });
});
