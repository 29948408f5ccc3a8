/**
 * `clawft.wasm chat` on WAMR (issue 11): build/clawft.wamr.wasm speaks HTTP/1.1 over WAMR's
 * socket extension to the scripted OpenAI-compatible server (test/helpers/llm-server.ts) on
 * 127.0.0.1, allowed by `--addr-pool`; build/clawft.p1.wasm in node:wasi has no HTTP and says so.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from "vitest";
import { mkdtemp, writeFile, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startLlmServer, type LlmServer } from "../helpers/llm-server.js";
import { freePort } from "../helpers/redis.js";
import { runWamr, wamrUnavailable } from "../helpers/wamr.js";
import { runNodeWasi } from "../helpers/node-wasi.js";

const build = (name: string) => fileURLToPath(new URL(`../../build/${name}`, import.meta.url));
const skip = await wamrUnavailable();
const POOL = ["127.0.0.1/32"];

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

/** A fresh $CLAWFT_HOME whose config.json points the openai provider at `apiBase`. */
async function home(apiBase = llm.apiBase): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "clawft-wamr-home-"));
  homes.push(dir);
  const config = {
    agents: { defaults: { model: "openai/gpt-test", maxTokens: 64, temperature: 0, maxToolIterations: 2, requestTimeoutMs: 2000, maxRetries: 1 } },
    providers: { openai: { apiKey: "sk-test-openai", apiBase } },
  };
  await writeFile(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

const chat = (dir: string, args: string[], addrPool: string[] | undefined = POOL) =>
  runWamr(build("clawft.wamr.wasm"), ["chat", ...args], { dirs: [dir], env: { CLAWFT_HOME: dir }, addrPool, timeoutMs: 30_000 });

describe.skipIf(skip)(`chat in WAMR over its sockets ${skip ?? ""}`, () => {
  it("streams a reply from the OpenAI-compatible server (SSE over chunked HTTP/1.1)", async () => {
    llm.script("openai", { reply: "Hello from the LAN model.", stream: true, chunks: 4 });
    const dir = await home();
    const r = await chat(dir, ["hi there"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe("Hello from the LAN model.\n");
    const [req] = llm.requestsTo("openai");
    expect(req!.headers.authorization).toBe("Bearer sk-test-openai");
    expect((req!.body as { stream: boolean }).stream).toBe(true);
    expect((req!.body as { messages: Array<{ role: string; content: string }> }).messages.at(-1)).toEqual({ role: "user", content: "hi there" });
  });

  it("reads a JSON reply with --no-stream", async () => {
    llm.script("openai", { reply: "A whole answer.", stream: false });
    const r = await chat(await home(), ["--no-stream", "hello"]);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe("A whole answer.\n");
    expect((llm.requestsTo("openai")[0]!.body as { stream?: boolean }).stream ?? false).toBe(false);
  });

  it("fails with one clear line when the server refuses the connection", async () => {
    const port = await freePort();
    const r = await chat(await home(`http://127.0.0.1:${port}/v1`), ["hello"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/connection refused/);
  });

  it("names --addr-pool when the host does not allow the server's address", async () => {
    llm.script("openai", { reply: "never sent" });
    const r = await chat(await home(), ["hello"], []);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--addr-pool/);
    expect(llm.requests).toHaveLength(0);
  });
});

describe("clawft.p1.wasm, the portable preview1 build", () => {
  it("imports no socket functions (so node:wasi can run it), while clawft.wamr.wasm does", () => {
    const names = (f: string) => WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(build(f)))).map((i) => i.name);
    expect(names("clawft.p1.wasm").filter((n) => n.startsWith("sock_"))).toEqual([]);
    expect(names("clawft.wamr.wasm")).toEqual(expect.arrayContaining(["sock_open", "sock_connect", "sock_send", "sock_recv"]));
  });

  it("says in node:wasi that there is no HTTP, and sends nothing", async () => {
    llm.script("openai", { reply: "never sent" });
    const dir = await home();
    const r = await runNodeWasi(build("clawft.p1.wasm"), ["chat", "hello"], { dirs: [dir], env: { CLAWFT_HOME: dir } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/this host has no HTTP: WASI preview1 has none \(run build\/clawft\.wamr\.wasm in WAMR/);
    expect(llm.requests).toHaveLength(0);
  });
});
