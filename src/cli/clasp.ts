/**
 * `clawft clasp …`: the codec from the command line, and `clawft demo`, a walk through a
 * CLASP session's real frames (encoded and decoded by the wasm core).
 * @module
 */
import type { Command } from "commander";
import { codec, ClaspDecodeError, type Message } from "../clasp/index.js";
import { toJson, fromJson } from "../clasp/json.js";
import { toHex, fromHex } from "../core/hex.js";

/** Wraps a command's action: an error (bad JSON, bad message, bad hex: HexError) prints one line, no stack, and exits 1. */
function oneLineErrors<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await action(...args);
    } catch (err) {
      console.error(`clawft clasp: ${(err as Error).message}`);
      process.exitCode = 1;
    }
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** The frames of a short session: a client connects, subscribes, sets, gets, emits, bundles. */
const DEMO_SESSION: Array<[string, Message]> = [
  ["client → router", { type: "HELLO", version: 1, name: "clawft demo", features: ["param", "event", "stream"] }],
  ["router → client", { type: "WELCOME", version: 1, session: "3f1c…", name: "clawft relay", features: ["param", "event", "stream", "gesture", "timeline"], time: 1_763_750_000_000_000 }],
  ["router → client", { type: "SNAPSHOT", params: [] }],
  ["client → router", { type: "SUBSCRIBE", id: 1, pattern: "/mixer/**" }],
  ["client → router", { type: "SET", address: "/mixer/1/fader", value: 0.75 }],
  ["router → client", { type: "SET", address: "/mixer/1/fader", value: 0.75, revision: 1 }],
  ["router → client", { type: "ACK", address: "/mixer/1/fader", revision: 1 }],
  ["client → router", { type: "PUBLISH", address: "/cue/go", signal: "event", value: { cue: 12, fade: 2.5 } }],
  ["client → router", { type: "PUBLISH", address: "/sensor/accel", signal: "stream", samples: [0.01, -0.98, 0.12], rate: 100 }],
  ["client → router", { type: "BUNDLE", messages: [{ type: "SET", address: "/light/1", value: 1 }, { type: "SET", address: "/light/2", value: 0 }] }],
  ["client → router", { type: "GET", address: "/mixer/1/fader" }],
  ["router → client", { type: "SNAPSHOT", params: [{ address: "/mixer/1/fader", value: 0.75, revision: 1, writer: "3f1c…" }] }],
];

/** Registers `clawft demo` and `clawft clasp encode|decode`. */
export function registerClasp(program: Command): void {
  program
    .command("demo")
    .description("encode and decode the real frames of a short CLASP session with the wasm codec")
    .action(() => {
      const frames = codec.encodeBatch(DEMO_SESSION.map(([, m]) => m));
      DEMO_SESSION.forEach(([dir, m], i) => {
        const f = frames[i]!;
        const back = codec.decode(f);
        console.log(`${dir}  ${m.type}  ${f.length} bytes  qos ${back.flags.qos}`);
        console.log(`  ${toHex(f)}`);
        console.log(`  ${toJson(back.message)}`);
      });
      const bad = new Uint8Array([0x53, 0x41, 0x00, 0x05, 0x21, 0x07, 0x00]);
      try {
        codec.decode(bad);
      } catch (e) {
        console.log(`a truncated frame ${toHex(bad)} is refused: ${(e as ClaspDecodeError).message}`);
      }
    });

  const clasp = program.command("clasp").description("CLASP v1 codec tools");
  clasp
    .command("encode [json]")
    .description("encode a message given as JSON (or read from stdin) and print the frame as hex")
    .option("--qos <n>", "frame QoS 0–3 (default: the message type's)")
    .action(
      oneLineErrors(async (json: string | undefined, opts: { qos?: string }) => {
        const message = fromJson(json ?? (await readStdin())) as Message;
        const qos = opts.qos === undefined ? undefined : Number(opts.qos);
        console.log(toHex(codec.encode(message, qos === undefined ? undefined : { qos })));
      }),
    );
  clasp
    .command("decode [hex]")
    .description("decode frames given as hex (or read from stdin), back to back, and print them as JSON")
    .action(
      oneLineErrors(async (text: string | undefined) => {
        const bytes = fromHex((text ?? (await readStdin())).replace(/\s+/g, "")); // spaced hex is fine
        let failed = false;
        for (const r of codec.decodeAll(bytes)) {
          if (r instanceof ClaspDecodeError) {
            failed = true;
            console.error(r.message);
          } else console.log(toJson(r));
        }
        if (failed) process.exitCode = 1;
      }),
    );
}
