/**
 * clawft.wasm's scenarios (issue 10, "Proved in real hosts") in every host: the Wasmtime
 * engine (Python `wasmtime`, wasi:http) and Node (jco + preview2-shim), each against the
 * scripted LLM server (test/helpers/llm-server.ts), with a fresh `$CLAWFT_HOME` per test whose
 * config.json points the providers at it. Then the files one host writes (sessions, memory,
 * audit log) are read by the other. A host that cannot run here is skipped with its reason.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from "vitest";
import { mkdtemp, mkdir, readFile, writeFile, rm, stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLlmServer, refusedPort, type LlmServer, type Step } from "../helpers/llm-server.js";
import { runAgent, agentUnavailable, type AgentHost } from "../helpers/agent.js";

/** Every host clawft.wasm runs in; one that cannot run here is skipped with its reason. */
const HOSTS: AgentHost[] = ["wasmtime", "node", "wasmtime-cli"];
/**
 * The exit code of a usage error in these hosts: WASI 0.2's `wasi:cli/exit` carries only ok or
 * err, so main.ts's 2 arrives as 1 (the preview1 build under WAMR and node:wasi keeps the 2).
 */
const USAGE_EXIT = 1;
/** Retries the tests configure: few, so that "500 forever" ends quickly. */
const MAX_RETRIES = 1;
/** The request timeout the tests configure (ms): short, so that a stalled body ends quickly. */
const TIMEOUT_MS = 1500;

let llm: LlmServer;
const homes: string[] = [];
beforeAll(async () => {
  llm = await startLlmServer();
});
afterAll(async () => {
  await llm.close();
  await Promise.all(homes.map((h) => rm(h, { recursive: true, force: true })));
});
beforeEach(() => llm.reset());

/**
 * A fresh `$CLAWFT_HOME` with a config.json in the anchor's format pointing both providers at
 * the scripted server; `defaults` are merged into `agents.defaults`.
 */
async function home(defaults: Record<string, unknown> = {}, apiBase = llm.apiBase): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "clawft-home-"));
  homes.push(dir);
  const config = {
    agents: { defaults: { model: "openai/gpt-test", maxTokens: 256, temperature: 0, maxToolIterations: 4, requestTimeoutMs: TIMEOUT_MS, maxRetries: MAX_RETRIES, ...defaults } },
    providers: {
      openai: { apiKey: "sk-test-openai", apiBase },
      anthropic: { apiKey: "sk-ant-test", apiBase },
    },
  };
  await writeFile(join(dir, "config.json"), JSON.stringify(config, null, 2));
  return dir;
}

/** The lines of stderr that are not retry notices or warnings: an error run has exactly one. */
function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l && !/; retry \d+ of \d+/.test(l) && !/^clawft: warning:/.test(l));
}

type Msg = { role: string; content: unknown; tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }>; tool_call_id?: string };
const messagesOf = (i: number) => (llm.requests[i]!.body as { messages: Msg[] }).messages;

/** The session file of `key` in `home`, as parsed JSON lines. */
async function sessionLines(dir: string, key: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(join(dir, "workspace/sessions", encodeURIComponent(key).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase()) + ".jsonl"), "utf8");
  expect(text.endsWith("\n")).toBe(true);
  return text.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

for (const host of HOSTS) {
  describe(`clawft.wasm in ${host}`, async () => {
    const why = await agentUnavailable(host);
    /** `it`, skipped with the printed reason when this host cannot run here. */
    const test = (name: string, fn: () => Promise<void>) => it.skipIf(why)(why ? `${name} (${why})` : name, fn);
    const run = (args: string[], dir: string, stdin?: string, env?: Record<string, string>) => runAgent(host, args, { home: dir, stdin, env });
    const script = (endpoint: "openai" | "anthropic", ...steps: Step[]) => llm.script(endpoint, ...steps);

    test("version prints the version", async () => {
      const r = await run(["version"], await home());
      expect(r).toMatchObject({ code: 0, stderr: "" });
      expect(r.stdout).toMatch(/^clawft\.wasm \d+\.\d+\.\d+\n$/);
    });

    test("usage errors print the usage and exit non-zero", async () => {
      const dir = await home();
      for (const args of [[], ["frobnicate"], ["chat", "--session"], ["chat", "--bogus", "hi"], ["chat", "--model", "no-slash", "hi"], ["memory"], ["memory", "search", "-k", "0", "q"], ["audit"]]) {
        const r = await run(args, dir);
        expect(r.code, args.join(" ")).toBe(USAGE_EXIT);
        expect(r.stdout, args.join(" ")).toBe("");
        expect(r.stderr, args.join(" ")).toMatch(/^clawft: [^]*usage/);
      }
      expect(llm.requests).toHaveLength(0);
    });

    test("a plain answer from an OpenAI-compatible server", async () => {
      script("openai", { reply: "Hello from the scripted model." });
      const r = await run(["chat", "--no-stream", "Say hello"], await home());
      expect(r).toMatchObject({ code: 0, stdout: "Hello from the scripted model.\n" });
      expect(llm.requests).toHaveLength(1);
      const req = llm.requests[0]!;
      expect(req.path).toBe("/v1/chat/completions");
      expect(req.headers.authorization).toBe("Bearer sk-test-openai");
      const body = req.body as { model: string; stream?: boolean; messages: Msg[]; max_tokens: number; tools?: unknown[] };
      expect(body.model).toBe("gpt-test");
      expect(body.stream).toBeUndefined();
      expect(body.max_tokens).toBe(256);
      expect(body.messages.at(-1)).toEqual({ role: "user", content: "Say hello" });
      expect(body.messages[0]!.role).toBe("system");
    });

    test("a plain answer from an Anthropic server", async () => {
      script("anthropic", { reply: "Hello from Claude's stand-in." });
      const r = await run(["chat", "--no-stream", "--model", "anthropic/claude-test", "Say hello"], await home());
      expect(r).toMatchObject({ code: 0, stdout: "Hello from Claude's stand-in.\n" });
      const req = llm.requests[0]!;
      expect(req.path).toBe("/v1/messages");
      expect(req.headers["x-api-key"]).toBe("sk-ant-test");
      expect(req.headers["anthropic-version"]).toBe("2023-06-01");
      const body = req.body as { model: string; system?: string; messages: Msg[] };
      expect(body.model).toBe("claude-test");
      expect(typeof body.system).toBe("string");
      expect(body.messages).toEqual([{ role: "user", content: "Say hello" }]);
    });

    test("a streamed answer (OpenAI SSE) reaches stdout whole", async () => {
      const text = "Streaming works: one chunk, then another, then the last — ünïcödé 🎉 included.";
      script("openai", { reply: text, chunks: 12, chunkDelayMs: 5 });
      const r = await run(["chat", "Stream please"], await home());
      expect(r).toMatchObject({ code: 0, stdout: text + "\n" });
      expect((llm.requests[0]!.body as { stream?: boolean }).stream).toBe(true);
      expect(llm.requests[0]!.headers.accept).toBe("text/event-stream");
    });

    test("a streamed answer (Anthropic SSE) reaches stdout whole", async () => {
      const text = "Anthropic events, delta by delta.";
      script("anthropic", { reply: text, chunks: 7 });
      const r = await run(["chat", "--model", "anthropic/claude-test", "Stream please"], await home());
      expect(r).toMatchObject({ code: 0, stdout: text + "\n" });
      expect((llm.requests[0]!.body as { stream?: boolean }).stream).toBe(true);
    });

    test("one turn per line of stdin without a MESSAGE", async () => {
      script("openai", { reply: "First answer." }, { reply: "Second answer." });
      const r = await run(["chat", "--no-stream"], await home(), "first question\n\nsecond question\n");
      expect(r).toMatchObject({ code: 0, stdout: "First answer.\nSecond answer.\n" });
      expect(llm.requests).toHaveLength(2);
      expect(messagesOf(1).slice(1)).toEqual([
        { role: "user", content: "first question" },
        { role: "assistant", content: "First answer." },
        { role: "user", content: "second question" },
      ]);
    });

    test("an allowed tool call runs (write_file) and the model gets its result", async () => {
      script("openai", { toolCalls: [{ name: "write_file", arguments: { path: "notes/hello.txt", content: "written by the model\n" } }] }, { reply: "I wrote notes/hello.txt." });
      const dir = await home();
      const r = await run(["chat", "--no-stream", "Write a note"], dir);
      expect(r).toMatchObject({ code: 0, stdout: "I wrote notes/hello.txt.\n" });
      expect(await readFile(join(dir, "workspace/notes/hello.txt"), "utf8")).toBe("written by the model\n");
      const offered = (llm.requests[0]!.body as { tools?: Array<{ type: string; function: { name: string; parameters: unknown } }> }).tools ?? [];
      expect(offered.map((t) => t.function.name)).toEqual(expect.arrayContaining(["write_file", "read_file", "list_directory", "memory_write", "memory_search"]));
      const second = messagesOf(1);
      const call = second.find((m) => m.tool_calls)!.tool_calls![0]!;
      expect(call.function.name).toBe("write_file");
      const result = second.find((m) => m.role === "tool")!;
      expect(result.tool_call_id).toBe(call.id);
      expect(String(result.content)).not.toMatch(/denied/i);
      const audit = await readFile(join(dir, "workspace/audit.log"), "utf8");
      expect(audit).toContain("write_file");
    });

    test("an allowed tool call over Anthropic streaming comes back as a tool_result block", async () => {
      script("anthropic", { text: "Listing.", toolCalls: [{ name: "list_directory", arguments: { path: "." } }], chunks: 4 }, { reply: "The workspace is listed." });
      const dir = await home();
      await mkdir(join(dir, "workspace"), { recursive: true });
      await writeFile(join(dir, "workspace/present.txt"), "x");
      const r = await run(["chat", "--model", "anthropic/claude-test", "What is in the workspace?"], dir);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("The workspace is listed.");
      const second = (llm.requests[1]!.body as { messages: Array<{ role: string; content: unknown }> }).messages;
      const use = (second.at(-2)!.content as Array<{ type: string; id?: string; name?: string }>).find((b) => b.type === "tool_use")!;
      expect(use.name).toBe("list_directory");
      const results = second.at(-1)!.content as Array<{ type: string; tool_use_id: string; content: string }>;
      expect(second.at(-1)!.role).toBe("user");
      expect(results[0]).toMatchObject({ type: "tool_result", tool_use_id: use.id });
      expect(results[0]!.content).toContain("present.txt");
    });

    test("a tool call the contract denies goes back to the model naming the guard, and is audited", async () => {
      script("openai", { toolCalls: [{ name: "write_file", arguments: { path: "config.json", content: "{}" } }] }, { reply: "Understood, I will not." });
      const dir = await home();
      const r = await run(["chat", "--no-stream", "Overwrite the config"], dir);
      expect(r).toMatchObject({ code: 0, stdout: "Understood, I will not.\n" });
      expect(r.stderr).toContain('write_file denied by guard "no_config_overwrite"');
      expect(existsSync(join(dir, "workspace/config.json"))).toBe(false);
      const result = messagesOf(1).find((m) => m.role === "tool")!;
      expect(String(result.content)).toContain("no_config_overwrite");
      const entries = (await readFile(join(dir, "workspace/audit.log"), "utf8")).trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(entries.at(-1)).toMatchObject({ seq: entries.length, tool: "write_file", decision: "deny", guard: "no_config_overwrite" });
    });

    test("a contract.json in the home replaces the default contract", async () => {
      script("openai", { toolCalls: [{ name: "list_directory", arguments: {} }] }, { reply: "Listing is not allowed here." });
      const dir = await home();
      const contract = {
        intents: { tool: { inputs: { tool: "string", args: "object", session: "string", path: "string?", file: "string?", ext: "string?", address: "string?", segments: "string[]?", bytes: "integer?" } } },
        guards: [{ name: "no_listing", description: "directory listings are switched off", deny: { "==": [{ var: "payload.tool" }, "list_directory"] } }],
        transitions: { record: { when: true, effects: [{ set: ["total", { "+": [{ var: ["state.total", 0] }, 1] }] }] } },
      };
      await writeFile(join(dir, "contract.json"), JSON.stringify(contract));
      const r = await run(["chat", "--no-stream", "List the workspace"], dir);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('list_directory denied by guard "no_listing"');
      expect(String(messagesOf(1).find((m) => m.role === "tool")!.content)).toMatch(/no_listing[^]*switched off|switched off[^]*no_listing/);
    });

    test("a path leaving the workspace is refused before the contract, and audited", async () => {
      script("openai", { toolCalls: [{ name: "write_file", arguments: { path: "../outside.txt", content: "escape" } }] }, { reply: "That path is outside." });
      const dir = await home();
      const r = await run(["chat", "--no-stream", "Write outside"], dir);
      expect(r).toMatchObject({ code: 0, stdout: "That path is outside.\n" });
      expect(existsSync(join(dir, "outside.txt"))).toBe(false);
      expect(String(messagesOf(1).find((m) => m.role === "tool")!.content)).toMatch(/workspace/);
      const audit = await readFile(join(dir, "workspace/audit.log"), "utf8");
      expect(JSON.parse(audit.trimEnd().split("\n").at(-1)!)).toMatchObject({ tool: "write_file", decision: "invalid" });
    });

    test("429 with Retry-After, then success: the request is retried", async () => {
      script("openai", { status: 429, headers: { "retry-after": "1" } }, { reply: "After the wait." });
      const r = await run(["chat", "--no-stream", "hi"], await home());
      expect(r).toMatchObject({ code: 0, stdout: "After the wait.\n" });
      expect(llm.requests).toHaveLength(2);
      expect(r.stderr).toMatch(/HTTP 429; retry 1 of 1 in 1000 ms/);
      expect(llm.requests[1]!.raw).toBe(llm.requests[0]!.raw);
    });

    test("500, then success", async () => {
      script("openai", { status: 500 }, { reply: "Recovered." });
      const r = await run(["chat", "--no-stream", "hi"], await home());
      expect(r).toMatchObject({ code: 0, stdout: "Recovered.\n" });
      expect(llm.requests).toHaveLength(2);
    });

    test("500 forever: exit 1 with one error line once the retries run out", async () => {
      script("openai", { status: 500, times: Infinity, body: { error: { message: "the scripted server is down", type: "server_error" } } });
      const r = await run(["chat", "--no-stream", "hi"], await home());
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(llm.requests).toHaveLength(MAX_RETRIES + 1);
      const lines = errorLines(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^clawft: .*HTTP 500.*the scripted server is down/);
    });

    test("401: exit 1 naming the credentials, no retry", async () => {
      script("anthropic", { status: 401, body: { type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } } });
      const r = await run(["chat", "--no-stream", "--model", "anthropic/claude-test", "hi"], await home());
      expect(r.code).toBe(1);
      expect(llm.requests).toHaveLength(1);
      const lines = errorLines(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/401/);
      expect(lines[0]).toMatch(/api.?key|credential/i);
    });

    test("404: exit 1 naming the endpoint or model", async () => {
      script("openai", { status: 404 });
      const r = await run(["chat", "--no-stream", "hi"], await home());
      expect(r.code).toBe(1);
      expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/404.*(apiBase|model)/)]);
    });

    test("a body that is not JSON: exit 1 saying so", async () => {
      script("openai", { malformed: true });
      const r = await run(["chat", "--no-stream", "hi"], await home());
      expect(r.code).toBe(1);
      expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/not the expected JSON/)]);
    });

    test("valid JSON of the wrong shape: exit 1 saying so", async () => {
      script("openai", { status: 200, body: { object: "chat.completion", choices: [] } });
      const r = await run(["chat", "--no-stream", "hi"], await home());
      expect(r.code).toBe(1);
      expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/not the expected JSON.*choices/)]);
    });

    test("a body that stalls after the headers: exit 1 with a timeout", async () => {
      script("openai", { stall: "headers" });
      const r = await run(["chat", "--no-stream", "hi"], await home());
      expect(r.code).toBe(1);
      expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/in time|timed? ?out/i)]);
    });

    test("a stream that stalls half-way: the text so far, then exit 1 with a timeout", async () => {
      script("openai", { stall: "midstream", reply: "abcdefghijklmnop", chunks: 8 });
      const r = await run(["chat", "hi"], await home());
      expect(r.code).toBe(1);
      expect(r.stdout.length).toBeGreaterThan(0);
      expect("abcdefghijklmnop".startsWith(r.stdout.trimEnd())).toBe(true);
      expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/in time|timed? ?out/i)]);
    });

    test("a closed connection: exit 1", async () => {
      script("openai", { close: true, times: Infinity });
      const r = await run(["chat", "--no-stream", "hi"], await home());
      expect(r.code).toBe(1);
      expect(errorLines(r.stderr)).toHaveLength(1);
    });

    test("a refused connection: exit 1 saying so", async () => {
      const port = await refusedPort();
      const r = await run(["chat", "--no-stream", "hi"], await home({}, `http://127.0.0.1:${port}/v1`));
      expect(r.code).toBe(1);
      expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/refused|cannot connect/i)]);
    });

    test("a bad config names the key and the problem", async () => {
      const dir = await home();
      await writeFile(join(dir, "config.json"), JSON.stringify({ agents: { defaults: { maxTokens: "many" } } }));
      const r = await run(["chat", "--no-stream", "hi"], dir);
      expect(r.code).toBe(1);
      expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/config\.json.*agents\.defaults\.maxTokens.*number/)]);
      expect(llm.requests).toHaveLength(0);
    });

    test("--session KEY keeps the conversation in the anchor's session format", async () => {
      script("openai", { reply: "Nice to meet you, Ada." }, { reply: "Your name is Ada." });
      const dir = await home();
      const key = "telegram:42/chat";
      expect((await run(["chat", "--no-stream", "--session", key, "My name is Ada."], dir)).code).toBe(0);
      const r = await run(["chat", "--no-stream", "--session", key, "What is my name?"], dir);
      expect(r).toMatchObject({ code: 0, stdout: "Your name is Ada.\n" });
      expect(messagesOf(1).slice(1)).toEqual([
        { role: "user", content: "My name is Ada." },
        { role: "assistant", content: "Nice to meet you, Ada." },
        { role: "user", content: "What is my name?" },
      ]);
      const lines = await sessionLines(dir, key);
      expect(lines[0]).toMatchObject({ _type: "metadata", metadata: {}, last_consolidated: 0 });
      expect(lines[0]!.created_at).toMatch(ISO);
      expect(lines.slice(1).map((l) => [l.role, l.content])).toEqual([
        ["user", "My name is Ada."],
        ["assistant", "Nice to meet you, Ada."],
        ["user", "What is my name?"],
        ["assistant", "Your name is Ada."],
      ]);
      for (const l of lines.slice(1)) expect(l.timestamp).toMatch(ISO);
    });

    test("continues a session the native CLI wrote, skipping a line cut by a crash", async () => {
      script("openai", { reply: "Continued." });
      const dir = await home();
      await mkdir(join(dir, "workspace/sessions"), { recursive: true });
      const native = [
        { _type: "metadata", created_at: "2025-01-02T03:04:05.678901Z", updated_at: "2025-01-02T03:05:00Z", metadata: { channel: "cli" }, last_consolidated: 0 },
        { role: "user", content: "Remember 7.", timestamp: "2025-01-02T03:04:06Z" },
        { role: "assistant", content: "Noted: 7.", timestamp: "2025-01-02T03:04:07Z" },
      ].map((l) => JSON.stringify(l)).join("\n") + '\n{"role":"user","content":"cut o';
      const file = join(dir, "workspace/sessions/cli%3Anative.jsonl");
      await writeFile(file, native);
      const r = await run(["chat", "--no-stream", "--session", "cli:native", "Which number?"], dir);
      expect(r).toMatchObject({ code: 0, stdout: "Continued.\n" });
      expect(r.stderr).toMatch(/warning: .*line 4/);
      expect(messagesOf(0).slice(1)).toEqual([
        { role: "user", content: "Remember 7." },
        { role: "assistant", content: "Noted: 7." },
        { role: "user", content: "Which number?" },
      ]);
      const text = await readFile(file, "utf8");
      expect(text.startsWith(native + "\n")).toBe(true); // nothing before the torn line is lost
      expect(text.slice(native.length + 1).trimEnd().split("\n").map((l) => (JSON.parse(l) as Msg).content)).toEqual(["Which number?", "Continued."]);
    });

    test("memory add, then search finds it", async () => {
      const dir = await home();
      expect((await run(["memory", "add", "the cat sleeps on the warm mat"], dir)).code).toBe(0);
      expect((await run(["memory", "add", "interest rates rose again this quarter"], dir)).code).toBe(0);
      const r = await run(["memory", "search", "-k", "1", "where does the cat sleep"], dir);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^\d+\t[\d.]+\tthe cat sleeps on the warm mat\n$/);
      expect((await stat(join(dir, "workspace/memory"))).isDirectory()).toBe(true);
    });

    test("memory embeds through the provider's /embeddings when embeddingModel is set", async () => {
      const dir = await home({ embeddingModel: "openai/text-embedding-test", embeddingDimensions: 64 });
      expect((await run(["memory", "add", "the cat sleeps on the warm mat", "interest rates rose again"], dir)).code).toBe(0);
      const r = await run(["memory", "search", "-k", "1", "the cat sleeps"], dir);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^\d+\t[\d.]+\tthe cat sleeps on the warm mat\n$/);
      const sent = llm.requestsTo("embeddings").map((q) => q.body as { model: string; input: string[]; dimensions?: number });
      expect(sent.length).toBeGreaterThanOrEqual(2);
      expect(sent.every((b) => b.model === "text-embedding-test" && b.dimensions === 64)).toBe(true);
      expect(sent.flatMap((b) => b.input)).toEqual(expect.arrayContaining(["the cat sleeps on the warm mat", "interest rates rose again", "the cat sleeps"]));
      expect(llm.requestsTo("embeddings")[0]!.headers.authorization).toBe("Bearer sk-test-openai");
    });

    test("audit verify passes, then names the entry whose byte was altered", async () => {
      script("openai", { toolCalls: [{ name: "write_file", arguments: { path: "a.txt", content: "a" } }] }, { toolCalls: [{ name: "write_file", arguments: { path: "b.txt", content: "b" } }] }, { reply: "Both written." });
      const dir = await home();
      expect((await run(["chat", "--no-stream", "write two files"], dir)).code).toBe(0);
      const ok = await run(["audit", "verify"], dir);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/^ok \d+ entries, head [0-9a-f]{64}\n$/);
      const log = join(dir, "workspace/audit.log");
      const bytes = await readFile(log);
      const lines = bytes.toString("utf8").trimEnd().split("\n");
      // Alter one byte inside the first entry that names b.txt: its "b" becomes "c".
      const entry = lines.findIndex((l) => l.includes("b.txt"));
      expect(entry, "an audit entry names b.txt").toBeGreaterThan(0);
      const at = Buffer.byteLength(lines.slice(0, entry).join("\n") + "\n") + Buffer.byteLength(lines[entry]!.slice(0, lines[entry]!.indexOf("b.txt")));
      expect(bytes[at]).toBe("b".charCodeAt(0));
      bytes[at] = "c".charCodeAt(0);
      await writeFile(log, bytes);
      const bad = await run(["audit", "verify"], dir);
      expect(bad.code).toBe(1);
      expect(errorLines(bad.stderr)).toEqual([expect.stringMatching(new RegExp(`(entry|line) ${entry + 1}\\b`))]);
    });
  });
}

describe("between hosts", async () => {
  const why = (await agentUnavailable("wasmtime")) ?? (await agentUnavailable("node"));
  const test = (name: string, fn: () => Promise<void>) => it.skipIf(why)(why ? `${name} (${why})` : name, fn);

  for (const [a, b] of [["wasmtime", "node"], ["node", "wasmtime"]] as const) {
    test(`a session written in ${a} continues in ${b}`, async () => {
      llm.script("openai", { reply: "First, in " + a + "." }, { reply: "Second, in " + b + "." });
      const dir = await home();
      expect((await runAgent(a, ["chat", "--no-stream", "--session", "x", "one"], { home: dir })).code).toBe(0);
      const r = await runAgent(b, ["chat", "--no-stream", "--session", "x", "two"], { home: dir });
      expect(r).toMatchObject({ code: 0, stdout: `Second, in ${b}.\n` });
      expect(messagesOf(1).slice(1).map((m) => m.content)).toEqual(["one", `First, in ${a}.`, "two"]);
      expect((await sessionLines(dir, "x")).map((l) => l.content ?? l._type)).toEqual(["metadata", "one", `First, in ${a}.`, "two", `Second, in ${b}.`]);
    });

    test(`memory added in ${a} is found in ${b}`, async () => {
      const dir = await home();
      expect((await runAgent(a, ["memory", "add", "the lighthouse keeper feeds the gulls"], { home: dir })).code).toBe(0);
      expect((await runAgent(a, ["memory", "add", "quarterly tax forms are due in april"], { home: dir })).code).toBe(0);
      const r = await runAgent(b, ["memory", "search", "-k", "1", "who feeds the gulls"], { home: dir });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("the lighthouse keeper feeds the gulls");
      expect(r.stdout).not.toContain("tax forms");
    });

    test(`an audit log written in ${a} verifies in ${b}`, async () => {
      llm.script("openai", { toolCalls: [{ name: "write_file", arguments: { path: "x.txt", content: "x" } }] }, { reply: "Done." });
      const dir = await home();
      expect((await runAgent(a, ["chat", "--no-stream", "write x"], { home: dir })).code).toBe(0);
      const r = await runAgent(b, ["audit", "verify"], { home: dir });
      expect(r.code, r.stderr).toBe(0);
    });
  }
});
