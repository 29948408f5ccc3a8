// clawft.wasm's governed tools (assembly/agent/tools.ts) in node:wasi, through the tools-cli
// fixture: the workspace sandbox, malformed calls, the contract's decisions and its state
// across runs, and the CLASP tools on the agent's router.
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { cli, calls, tempHome } from "./tools-cli.js";

let home: string;
let done: () => void;
beforeEach(() => ({ home, done } = tempHome()));
afterEach(() => done());

const auditLines = () =>
  readFileSync(join(home, "workspace/audit.log"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("the tool list", () => {
  it("offers each tool with an object JSON Schema that names its required arguments", async () => {
    const r = await cli(home, ["specs"]);
    const specs = JSON.parse(r.stdout.toString()) as Array<{ name: string; parameters: { type: string; properties: object; required: string[]; additionalProperties: boolean } }>;
    expect(specs.map((s) => s.name)).toEqual([
      "read_file", "write_file", "list_directory", "memory_write", "memory_search", "clasp_set", "clasp_get", "clasp_publish",
    ]);
    const write = specs.find((s) => s.name === "write_file")!;
    expect(write.parameters.type).toBe("object");
    expect(Object.keys(write.parameters.properties)).toEqual(["path", "content"]);
    expect(write.parameters.required).toEqual(["path", "content"]);
    expect(write.parameters.additionalProperties).toBe(false);
    expect(specs.find((s) => s.name === "list_directory")!.parameters.required).toEqual([]);
  });
});

describe("files inside the workspace", () => {
  it("writes, reads and lists, creating directories; a/../b is b", async () => {
    const r = await cli(home, calls(
      ["write_file", { path: "notes/day/todo.md", content: "milk\nbread ✓" }],
      ["read_file", { path: "notes/x/../day/todo.md" }],
      ["list_directory", { path: "notes/day" }],
      ["list_directory", {}],
    ));
    expect(r.code).toBe(0);
    const [w, rd, ls, root] = r.results;
    expect(w).toMatchObject({ content: "wrote 14 bytes to notes/day/todo.md", error: false });
    expect(rd!.content).toBe("milk\nbread ✓");
    expect(ls!.content).toBe("todo.md (14 bytes)");
    expect(root!.content.split("\n")).toContain("notes/");
    expect(readFileSync(join(home, "workspace/notes/day/todo.md"), "utf8")).toBe("milk\nbread ✓");
  });

  it("refuses paths that leave the workspace: .., absolute, backslash", async () => {
    writeFileSync(join(home, "secret.txt"), "outside");
    const r = await cli(home, calls(
      ["read_file", { path: "../secret.txt" }],
      ["read_file", { path: "a/../../secret.txt" }],
      ["read_file", { path: "/etc/passwd" }],
      ["write_file", { path: "..\\secret.txt", content: "x" }],
      ["list_directory", { path: ".." }],
    ));
    expect(r.results.map((x) => x.error)).toEqual([true, true, true, true, true]);
    expect(r.results[0]!.content).toBe('invalid call: the path leaves the workspace (".." above it)');
    expect(r.results[1]!.content).toMatch(/leaves the workspace/);
    expect(r.results[2]!.content).toMatch(/absolute paths are refused/);
    expect(r.results[3]!.content).toMatch(/backslashes are refused/);
    expect(r.results[4]!.content).toMatch(/leaves the workspace/);
    expect(readFileSync(join(home, "secret.txt"), "utf8")).toBe("outside");
    expect(auditLines().map((e) => e.decision)).toEqual(["invalid", "invalid", "invalid", "invalid", "invalid"]);
  });

  it("refuses a symbolic link on the way, to a directory or a file outside", async () => {
    const outside = mkdtempSync(join(tmpdir(), "clawft-outside-"));
    try {
      writeFileSync(join(outside, "passwd"), "root:x:0:0");
      mkdirSync(join(home, "workspace/notes"), { recursive: true });
      symlinkSync(outside, join(home, "workspace/notes/out"));
      symlinkSync(join(outside, "passwd"), join(home, "workspace/pw"));
      const r = await cli(home, calls(
        ["read_file", { path: "notes/out/passwd" }],
        ["read_file", { path: "pw" }],
        ["write_file", { path: "notes/out/passwd", content: "owned" }],
        ["write_file", { path: "pw", content: "owned" }],
        ["list_directory", { path: "notes/out" }],
        ["list_directory", { path: "notes" }],
      ));
      for (const x of r.results.slice(0, 5)) expect(x.content).toMatch(/^invalid call: the path goes through a symbolic link \((notes\/out|pw)\)/);
      expect(r.results[5]!.content).toBe("out (symbolic link, not followed)");
      expect(readFileSync(join(outside, "passwd"), "utf8")).toBe("root:x:0:0");
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("never lets a tool write the agent's own records, whatever the contract says", async () => {
    const r = await cli(home, calls(
      ["write_file", { path: "audit.log", content: "{}" }],
      ["write_file", { path: "contract/events.log", content: "x" }],
      ["write_file", { path: "./sessions/cli%3Adefault.jsonl", content: "x" }],
      ["read_file", { path: "audit.log" }],
    ));
    for (const x of r.results.slice(0, 3)) expect(x.content).toMatch(/holds the agent's own records/);
    expect(r.results[3]!.error).toBe(false);
    expect(r.results[3]!.content).toContain('"decision":"invalid"');
  });

  it("reports a missing file, a directory and a binary file as tool errors, audited after the commit", async () => {
    mkdirSync(join(home, "workspace/d"), { recursive: true });
    writeFileSync(join(home, "workspace/bin"), Buffer.from([1, 0, 2]));
    const r = await cli(home, calls(["read_file", { path: "nope.txt" }], ["read_file", { path: "d" }], ["read_file", { path: "bin" }]));
    expect(r.results.map((x) => x.content)).toEqual([
      "cannot read nope.txt: no such file or directory",
      "d is a directory: use list_directory",
      "bin is a binary file (3 bytes): not shown",
    ]);
    expect(auditLines().map((e) => e.decision)).toEqual(["commit", "error", "commit", "error", "commit", "error"]);
  });
});

describe("malformed calls (hostile model output)", () => {
  it("answers each with what is wrong, audits it as invalid, and keeps going", async () => {
    const r = await cli(home, calls(
      ["read_file", "not json"],
      ["read_file", "[1,2]"],
      ["read_file", { path: 5 }],
      ["read_file", {}],
      ["read_file", { path: "a", mode: "r" }],
      ["no_such_tool", { path: "a" }],
      ["memory_search", { query: "x", k: 2.5 }],
      ["read_file", '{"path": "a"'],
      ["list_directory", ""],
    ));
    expect(r.code).toBe(0);
    expect(r.results.map((x) => x.content)).toEqual([
      "invalid call: the arguments are not JSON (unexpected 'n' at offset 0); send a JSON object",
      "invalid call: the arguments must be a JSON object, got an array",
      'invalid call: argument "path" must be a string, got a number',
      'invalid call: missing argument "path" (read_file takes path)',
      'invalid call: unknown argument "mode" (read_file takes path)',
      'invalid call: unknown tool "no_such_tool" (the tools are read_file, write_file, list_directory, memory_write, memory_search, clasp_set, clasp_get, clasp_publish)',
      'invalid call: argument "k" must be an integer',
      expect.stringMatching(/^invalid call: the arguments are not JSON \(.+ at offset 12\)/),
      expect.stringContaining("audit.log ("),
    ]);
    const audit = auditLines();
    expect(audit.slice(0, 8).map((e) => e.decision)).toEqual(Array(8).fill("invalid"));
    expect(audit[0]!.args).toBe("not json");
    expect(audit[5]!.tool).toBe("no_such_tool");
  });

  // node:wasi's fast API calls may start a garbage collection that corrupts Node's heap once a
  // module has grown to tens of MB (nodejs/node#46777, #53087): run with that V8 optimisation off.
  const fastApi = process.execArgv.includes("--no-turbo-fast-api-calls")
    ? undefined
    : "skipped: needs vitest's execArgv --no-turbo-fast-api-calls (node:wasi crashes Node on a GC inside a fast API call, nodejs/node#46777)";
  it.skipIf(fastApi)(`refuses arguments over 8 MiB unread, recording their SHA-256 and size ${fastApi ?? ""}`, async () => {
    const text = JSON.stringify({ path: "a.txt", content: "y".repeat(8 << 20) });
    const r = await cli(home, ["call", "write_file", "-"], text);
    expect(r.results[0]!.content).toBe(`invalid call: the arguments are ${text.length} bytes, over the 8388608-byte limit`);
    expect(auditLines()[0]).toMatchObject({ decision: "invalid", args: { sha256: createHash("sha256").update(text).digest("hex"), bytes: text.length } });
  });

  it("records huge arguments as their SHA-256 and size, and the contract denies content over 1 MiB", async () => {
    const content = "x".repeat((1 << 20) + 1);
    const r = await cli(home, calls(["write_file", { path: "big.txt", content }]));
    expect(r.results[0]).toMatchObject({ denied: true, guard: "write_size" });
    expect(r.results[0]!.content).toBe('denied by guard "write_size": write_file content is limited to maxWriteBytes (1 MiB)');
    expect(existsSync(join(home, "workspace/big.txt"))).toBe(false);
    const [entry] = auditLines();
    expect(entry!.args).toEqual({ path: "big.txt", content: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/), bytes: (1 << 20) + 1 } });
  });
});

describe("the contract", () => {
  it("denies by a named guard, audited with the guard, and the tool does not run", async () => {
    const r = await cli(home, calls(["write_file", { path: "keys/server.pem", content: "-----BEGIN" }], ["clasp_set", { address: "/sys/reboot", value: true }]));
    expect(r.results[0]).toEqual({ content: 'denied by guard "no_secrets": key, certificate and credential files may not be read or written', denied: true, guard: "no_secrets", error: true });
    expect(r.results[1]).toMatchObject({ denied: true, guard: "clasp_sys_readonly" });
    expect(existsSync(join(home, "workspace/keys"))).toBe(false);
    const [a, b] = auditLines();
    expect(a).toMatchObject({ seq: 1, tool: "write_file", decision: "deny", guard: "no_secrets", reason: "Guard no_secrets denied" });
    expect(a).not.toHaveProperty("transition");
    expect(b).toMatchObject({ seq: 2, decision: "deny", guard: "clasp_sys_readonly" });
  });

  it("keeps its state across runs: a per-session cap holds after a restart", async () => {
    const contract = {
      intents: { tool: { inputs: { tool: "string", session: "string" } } },
      guards: [{
        name: "two_writes",
        description: "two writes per session",
        deny: { and: [{ "==": [{ var: "payload.tool" }, "write_file"] }, { ">=": [{ get: [{ var: ["state.writes", { object: {} }] }, { var: "payload.session" }, 0] }, 2] }] },
      }],
      transitions: {
        count: {
          when: true,
          effects: [{ set: [["writes", { var: "payload.session" }], { "+": [{ get: [{ var: ["state.writes", { object: {} }] }, { var: "payload.session" }, 0] }, { if: [{ "==": [{ var: "payload.tool" }, "write_file"] }, 1, 0] }] }] }],
        },
      },
    };
    writeFileSync(join(home, "contract.json"), JSON.stringify(contract));
    const w = (n: number): [string, unknown] => ["write_file", { path: `f${n}.txt`, content: String(n) }];
    const first = await cli(home, ["--session", "s1", ...calls(w(1), w(2))]);
    expect(first.results.map((x) => x.error)).toEqual([false, false]);
    const second = await cli(home, ["--session", "s1", ...calls(w(3)), "--session", "s2", ...calls(w(4))]);
    expect(second.results[0]).toMatchObject({ denied: true, guard: "two_writes", content: 'denied by guard "two_writes": two writes per session' });
    expect(second.results[1]!.error).toBe(false);
    expect(auditLines().map((e) => [e.session, e.decision, e.event ?? null])).toEqual([
      ["s1", "commit", 1], ["s1", "commit", 2], ["s1", "deny", null], ["s2", "commit", 3],
    ]);
  });

  it("survives a commit record cut short at the end of its log (an interrupted write)", async () => {
    await cli(home, calls(["write_file", { path: "a.txt", content: "1" }]));
    const log = join(home, "workspace/contract/events.log");
    const bytes = readFileSync(log);
    writeFileSync(log, Buffer.concat([bytes, bytes.subarray(48, 48 + 40)]));
    const r = await cli(home, calls(["write_file", { path: "a.txt", content: "2" }]));
    expect(r.stderr).toMatch(/events\.log: dropped a record cut short at the end \(40 bytes\)/);
    expect(r.results[0]!.error).toBe(false);
    expect(auditLines().at(-1)).toMatchObject({ decision: "commit", event: 2 });
  });

  it("refuses to start on a broken contract.json, naming the problem and where (exit 1)", async () => {
    const broken: Array<[string, RegExp]> = [
      ['{"intents": ', /^clawft: contract\.json is not JSON: .* at offset 12$/m],
      ['{"intents": {"tool": {}}, "transitions": {"t": {"when": {"==": [1]}}}}', /^clawft: contract\.json: ContractError: transitions\.t\.when: "==" takes 2 argument\(s\), got 1$/m],
      ['{"intents": {"tool": {"inputs": {"x": "strng"}}}, "transitions": {}}', /^clawft: contract\.json: ContractError: intents\.tool\.inputs\.x: unknown type "strng"/m],
      ['{"intents": {"tool": {}}, "guards": [{"name": "g", "deny": {"$js": 0}}], "transitions": {}}', /^clawft: contract\.json: guards\[0\]\.deny: \{"\$js": …\} names a JavaScript function/m],
      ["[]", /^clawft: contract\.json: ContractError: expected an object$/m],
    ];
    for (const [text, message] of broken) {
      writeFileSync(join(home, "contract.json"), text);
      const r = await cli(home, ["open"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    // a call made anyway is refused and audited, never a trap
    const r = await cli(home, calls(["read_file", { path: "a" }]));
    expect(r.code).toBe(0);
    expect(r.results[0]!.content).toMatch(/^not run: contract\.json: ContractError: expected an object$/);
    expect(auditLines().at(-1)).toMatchObject({ decision: "error" });
  });

  it("reports a contract with no single matching transition, or a failing rule, as a denial without a guard", async () => {
    writeFileSync(join(home, "contract.json"), JSON.stringify({ intents: { tool: {} }, transitions: { a: { when: true }, b: { when: true } } }));
    let r = await cli(home, calls(["list_directory", {}]));
    expect(r.results[0]).toMatchObject({ denied: true, guard: "", content: "denied by the contract: Expected exactly one matching transition, found 2" });
    writeFileSync(join(home, "contract.json"), JSON.stringify({ intents: { tool: {} }, transitions: { a: { when: true, effects: { n: { "+": [{ var: "payload.tool" }, 1] } } } } }));
    r = await cli(home, calls(["list_directory", {}]));
    expect(r.results[0]!.content).toBe('denied by the contract: transitions.a.effects.n: "+" expects numbers, got string');
  });
});

describe("CLASP tools on the agent's router", () => {
  it("sets, gets and publishes; revisions count up and params survive a restart", async () => {
    const r = await cli(home, calls(
      ["clasp_set", { address: "/lights/kitchen", value: { level: 0.5, on: true, tags: ["a", 1] } }],
      ["clasp_set", { address: "/lights/kitchen", value: { level: 0.8, on: true, tags: [] } }],
      ["clasp_set", { address: "/blob", value: { $bytes: "00ff10" } }],
      ["clasp_publish", { address: "/doorbell/ring" }],
    ));
    expect(r.results.map((x) => JSON.parse(x.content))).toEqual([
      { address: "/lights/kitchen", revision: 1 },
      { address: "/lights/kitchen", revision: 2 },
      { address: "/blob", revision: 1 },
      { address: "/doorbell/ring", delivered: 0 },
    ]);
    const again = await cli(home, calls(["clasp_get", { address: "/lights/kitchen" }], ["clasp_get", { address: "/blob" }], ["clasp_get", { address: "/none" }]));
    const got = JSON.parse(again.results[0]!.content) as Record<string, unknown>;
    expect(got).toMatchObject({ address: "/lights/kitchen", value: { level: 0.8, on: true, tags: [] }, revision: 2, writer: "clawft" });
    expect(Date.parse(got.written as string)).toBeGreaterThan(0);
    expect(JSON.parse(again.results[1]!.content).value).toEqual({ $bytes: "00ff10" });
    expect(again.results[2]).toMatchObject({ content: "no param at /none", error: true });
  });

  it("refuses malformed addresses and values before the contract", async () => {
    const r = await cli(home, calls(
      ["clasp_set", { address: "lights", value: 1 }],
      ["clasp_set", { address: "/a/*", value: 1 }],
      ["clasp_set", { address: "/a//b", value: 1 }],
      ["clasp_set", { address: "/a", value: { $bytes: "xyz" } }],
      ["clasp_set", { address: "/a", value: "y".repeat(70000) }],
      ["clasp_set", { address: "/a" }],
    ));
    expect(r.results.map((x) => x.content)).toEqual([
      "invalid call: an address starts with / and names something, e.g. /lights/kitchen",
      "invalid call: an address has no wildcards (* is for subscription patterns)",
      "invalid call: an address has no empty segment (no // and no trailing /)",
      'invalid call: argument "value": {"$bytes": …} needs an even number of hex digits',
      'invalid call: argument "value": the value cannot be a CLASP value: string or bytes over 65535 bytes',
      'invalid call: missing argument "value" (clasp_set takes address, value)',
    ]);
  });
});

describe("memory tools", () => {
  it("stores texts and finds the nearest by meaning", async () => {
    const r = await cli(home, calls(
      ["memory_write", { text: "the spare key is under the blue flower pot" }],
      ["memory_write", { text: "dentist appointment on tuesday at 9" }],
      ["memory_search", { query: "where is the spare key", k: 1 }],
      ["memory_write", { text: "   " }],
    ));
    expect(r.results[0]!.content).toMatch(/^stored as memory #\d+ \(1 memories\)$/);
    expect(r.results[2]!.content).toMatch(/^#\d+ \(score [\d.]+\): the spare key is under the blue flower pot$/);
    expect(r.results[3]!.content).toBe('invalid call: argument "text" is empty');
  });
});
