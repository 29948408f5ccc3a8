// `clawft clasp encode|decode` and `clawft demo` as a user runs them (child processes): the
// wasm codec's frames as hex, and one-line errors with exit code 1 for bad input.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers.js";

/** Runs `clawft …args` with `stdin`; resolves with exit code, stdout and stderr. */
function clawft(args: string[], stdin = ""): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", "src/cli/index.ts", ...args], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
    proc.stderr.on("data", (d: Buffer) => (err += d.toString()));
    proc.on("error", reject);
    proc.on("exit", (code) => resolve({ code, out, err }));
    proc.stdin.end(stdin);
  });
}

describe("clawft clasp", () => {
  it("encodes a JSON message to hex and decodes it back (arguments and stdin)", async () => {
    const [enc, ping] = await Promise.all([clawft(["clasp", "encode", '{"type":"SET","address":"/a","value":1}']), clawft(["clasp", "encode", "--qos", "0", '{"type":"PING"}'])]);
    expect(enc).toMatchObject({ code: 0, err: "" });
    expect(ping.out).toBe("5301000141\n");
    expect(enc.out).toMatch(/^53[0-9a-f]+\n$/);
    const dec = await clawft(["clasp", "decode"], enc.out.replace(/(..)/g, "$1 ")); // spaced hex on stdin
    expect(dec.code).toBe(0);
    expect(JSON.parse(dec.out).message).toEqual({ type: "SET", address: "/a", value: 1 });
  });

  it("answers bad input with one line on stderr and exit code 1", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["clasp", "encode", '{"type":"NOPE"}'], /^clawft clasp: message\.type must be a CLASP message type/],
      [["clasp", "encode", "not json"], /^clawft clasp: .*JSON/],
      [["clasp", "decode", "5301000"], /^clawft clasp: expected hex bytes/], // odd digit count
      [["clasp", "decode", "53010009 21"], /^CLASP 100: /], // a frame cut short
    ];
    const results = await Promise.all(cases.map(([args]) => clawft(args)));
    for (const [i, [args, message]] of cases.entries()) {
      const r = results[i]!;
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.err.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.err, args.join(" ")).toMatch(message);
    }
  });

  it("demo walks a session's frames and shows a truncated frame refused", async () => {
    const r = await clawft(["demo"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^client → router {2}HELLO {2}\d+ bytes {2}qos 0\n {2}53[0-9a-f]+\n {2}\{"type":"HELLO"/);
    expect(r.out).toMatch(/a truncated frame 53410005210700 is refused: CLASP 10\d: /);
  });
});
