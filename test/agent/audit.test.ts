// The hash-chained audit log (assembly/agent/audit.ts): every decision is one line, the chain
// re-computes by its documented definition, and `audit verify` names the first bad entry for
// a changed byte, a deleted line, a forged re-hash and a line torn by a crash.
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runNodeWasi } from "../helpers/node-wasi.js";
import { cli, calls, tempHome } from "./tools-cli.js";

let home: string;
let done: () => void;
let log: string;
beforeEach(() => {
  ({ home, done } = tempHome());
  log = join(home, "workspace/audit.log");
});
afterEach(() => done());

const sha = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");

/** Five decisions: commit, deny, invalid, commit + error. */
async function fill(): Promise<string[]> {
  const r = await cli(home, ["--session", "cli:default", ...calls(
    ["write_file", { path: "a.txt", content: "one" }],
    ["read_file", { path: "id_ed25519" }],
    ["read_file", { path: "../a.txt" }],
    ["read_file", { path: "missing.txt" }],
  )]);
  expect(r.code).toBe(0);
  return readFileSync(log, "utf8").split("\n");
}

async function verify() {
  return cli(home, ["audit", "verify"]);
}

describe("the audit log", () => {
  it("has one line per decision, each hashing as documented and linked to the one before", async () => {
    const lines = (await fill()).filter(Boolean);
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.map((e) => [e.seq, e.tool, e.decision])).toEqual([
      [1, "write_file", "commit"], [2, "read_file", "deny"], [3, "read_file", "invalid"], [4, "read_file", "commit"], [5, "read_file", "error"],
    ]);
    expect(Object.keys(entries[0]!)).toEqual(["seq", "time", "session", "tool", "args", "decision", "transition", "event", "prev", "hash"]);
    expect(Object.keys(entries[1]!)).toEqual(["seq", "time", "session", "tool", "args", "decision", "guard", "reason", "prev", "hash"]);
    expect(entries[0]).toMatchObject({ session: "cli:default", args: { path: "a.txt", content: "one" }, transition: "record", event: 1 });
    expect(entries[1]).toMatchObject({ guard: "no_secrets", reason: "Guard no_secrets denied" });
    expect(entries[4]).toMatchObject({ reason: "cannot read missing.txt: no such file or directory" });
    let prev = "0".repeat(64);
    for (const [i, line] of lines.entries()) {
      const e = entries[i]!;
      expect(typeof e.time).toBe("number");
      expect(e.prev).toBe(prev);
      // canonical bytes: the line without its final `,"hash":"…"` member
      const canonical = line.replace(/,"hash":"[0-9a-f]{64}"\}$/, "}");
      expect(sha(Buffer.from(canonical, "utf8"))).toBe(e.hash);
      prev = e.hash as string;
    }
    const v = await verify();
    expect(v.code).toBe(0);
    expect(v.stdout.toString()).toBe(`ok 5 entries, head ${prev}\n`);
  });

  it("is checked the same by `clawft.wasm audit verify` (build/clawft.p1.wasm)", async () => {
    const lines = await fill();
    const agent = fileURLToPath(new URL("../../build/clawft.p1.wasm", import.meta.url));
    const run = () => runNodeWasi(agent, ["audit", "verify"], { env: { CLAWFT_HOME: home }, dirs: [home] });
    let v = await run();
    expect(v.code).toBe(0);
    expect(v.stdout.toString()).toMatch(/^ok 5 entries, head [0-9a-f]{64}\n$/);
    lines.splice(3, 1);
    writeFileSync(log, lines.join("\n"));
    v = await run();
    expect(v.code).toBe(1);
    expect(v.stderr).toBe("clawft: workspace/audit.log line 4 (seq 5): seq gap: expected seq 4 (an entry before this one is missing)\n");
  });

  it("verifies an absent log as empty", async () => {
    const v = await verify();
    expect(v.code).toBe(0);
    expect(v.stdout.toString()).toBe(`ok 0 entries, head ${"0".repeat(64)}\n`);
  });

  it("names the entry whose byte changed", async () => {
    const lines = await fill();
    const changed = lines[2]!.replace('"../a.txt"', '"../b.txt"');
    expect(changed).not.toBe(lines[2]);
    lines[2] = changed;
    writeFileSync(log, lines.join("\n"));
    const v = await verify();
    expect(v.code).toBe(1);
    expect(v.stderr).toBe("clawft: workspace/audit.log line 3 (seq 3): hash mismatch: the entry was changed after it was written\n");
  });

  it("names a changed byte in the middle of the file, found by byte offset", async () => {
    await fill();
    const bytes = readFileSync(log);
    const at = bytes.indexOf('"decision":"deny"');
    bytes[at + 13] = "x".charCodeAt(0); // deny -> dexy
    writeFileSync(log, bytes);
    const v = await verify();
    expect(v.stderr).toMatch(/^clawft: workspace\/audit\.log line 2 \(seq 2\): hash mismatch/);
  });

  it("names the entry after a deleted line (a seq gap)", async () => {
    const lines = await fill();
    lines.splice(1, 1);
    writeFileSync(log, lines.join("\n"));
    const v = await verify();
    expect(v.code).toBe(1);
    expect(v.stderr).toBe("clawft: workspace/audit.log line 2 (seq 3): seq gap: expected seq 2 (an entry before this one is missing)\n");
  });

  it("names the entry after one that was changed and re-hashed (a broken link)", async () => {
    const lines = await fill();
    const e = JSON.parse(lines[0]!) as Record<string, unknown>;
    const forged = lines[0]!.replace('"content":"one"', '"content":"two"').replace(/,"hash":"[0-9a-f]{64}"\}$/, "}");
    lines[0] = forged.slice(0, -1) + `,"hash":"${sha(forged)}"}`;
    expect(lines[0]).not.toContain(e.hash as string);
    writeFileSync(log, lines.join("\n"));
    const v = await verify();
    expect(v.stderr).toBe("clawft: workspace/audit.log line 2 (seq 2): broken link: prev is not the hash of the entry before it (line 1)\n");
  });

  it("reports bad JSON and a hash that is not the last member", async () => {
    const lines = await fill();
    writeFileSync(log, [lines[0], lines[1]!.slice(0, 40) + "}", ...lines.slice(2)].join("\n"));
    let v = await verify();
    expect(v.stderr).toMatch(/^clawft: workspace\/audit\.log line 2: not JSON: .+ at byte \d+\n$/);
    const e = JSON.parse(lines[1]!) as Record<string, unknown>;
    writeFileSync(log, [lines[0], JSON.stringify({ hash: e.hash, ...e }), ...lines.slice(2)].join("\n"));
    v = await verify();
    expect(v.stderr).toBe("clawft: workspace/audit.log line 2 (seq 2): hash is not the entry's last member\n");
  });

  it("reports a line torn by a crash as such, and the next run moves it aside and continues the chain", async () => {
    const lines = await fill();
    const text = lines.join("\n");
    const torn = text.slice(0, text.length - 1 - 50); // the last line loses its end
    writeFileSync(log, torn);
    const v = await verify();
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/^clawft: workspace\/audit\.log line 5: torn: the last line has no line end \(\d+ bytes\), cut short by an interrupted write\n$/);
    const r = await cli(home, [...calls(["read_file", { path: "a.txt" }]), "audit", "verify"]);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toMatch(/^ok 6 entries, head [0-9a-f]{64}$/m);
    const entries = readFileSync(log, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries[4]).toMatchObject({ seq: 5, tool: "audit", decision: "repair", reason: expect.stringMatching(/^removed a torn last line of \d+ bytes/) });
    expect(entries[5]).toMatchObject({ seq: 6, tool: "read_file", decision: "commit" });
    expect(existsSync(join(home, "workspace/audit.torn"))).toBe(true);
    expect(readFileSync(join(home, "workspace/audit.torn"), "utf8")).toBe(torn.slice(torn.lastIndexOf("\n") + 1) + "\n");
  });

  it("refuses to extend a log whose last entry is unreadable, and says to verify it", async () => {
    const lines = await fill();
    lines[4] = "garbage";
    writeFileSync(log, lines.join("\n"));
    const r = await cli(home, calls(["read_file", { path: "a.txt" }]));
    expect(r.results[0]!.content).toBe("not run: the audit log is unavailable: workspace/audit.log: its last entry is unreadable (not JSON: unexpected 'g' at byte 0); run `clawft.wasm audit verify`");
  });
});
