/**
 * clawft.wasm chatting from the playground page in real Chromium (JSPI): the vite build of
 * web/, the agent panel's browser build (build/jco/clawft-web/, scripts/agent-web.mjs) on
 * preview2-shim's browser WASI, against the scripted OpenAI-compatible server of the agent's
 * Wasmtime tests (test/helpers/llm-server.ts, here with CORS). Proves: the glue and the wasm
 * are not fetched until the first message; a streamed turn's answer is shown as it arrives; tool
 * calls are decided by the contract (one committed, one denied) and listed with the decision;
 * the session's history carries from one turn to the next; an unreachable endpoint ends the
 * turn with the agent's own error line.
 */
import { rm } from "node:fs/promises";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildBundle, describeChromium, openPage, serveStatic, withBrowser, type PageLog, type StaticServer } from "../helpers/chromium.js";
import { refusedPort, startLlmServer, type LlmServer } from "../helpers/llm-server.js";
import type { ChatOutcome } from "../../web/panels/agent.js";

type Pg = { playground: { agent?: { jspi: boolean; chat(message: string): Promise<ChatOutcome> } } };

let dir: string | undefined;
let server: StaticServer | undefined;
let llm: LlmServer | undefined;
beforeAll(async () => {
  dir = await buildBundle("web/index.html");
  server = await serveStatic(dir);
  llm = await startLlmServer({ apiKey: "sk-test", cors: true });
}, 240_000);
afterAll(async () => {
  await llm?.close();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The OpenAI `messages` of the n-th chat request. */
const messagesOf = (n: number) => (llm!.requestsTo("openai")[n]!.body as { messages: Array<{ role: string; content: unknown; tool_calls?: Array<{ id: string; function: { name: string } }>; tool_call_id?: string }> }).messages;

/** Types `message` into the panel and sends it, as a user would; waits until the panel reports the turn's end. */
async function send(page: Page, message: string): Promise<string> {
  await page.fill("#agent-panel input[name=message]", message);
  await page.click("#agent-panel button[name=send]");
  await page.waitForFunction(() => /^(ok|exit \d|AgentWebError)/.test(document.querySelector("#agent-panel .out")?.textContent ?? ""), undefined, { timeout: 60_000 });
  return (await page.textContent("#agent-panel .out"))!;
}

describeChromium("clawft.wasm in the playground page (JSPI)", () => {
  it("chats a streamed turn, then a turn with governed tool calls (one committed, one denied), through the real clawft.wasm", async () => {
    llm!.reset();
    await withBrowser(async (context) => {
      const log: PageLog = { lines: [] };
      const fetched: string[] = [];
      const page = await context.newPage();
      page.on("console", (m) => log.lines.push(`[${m.type()}] ${m.text()}`));
      page.on("pageerror", (e) => log.lines.push(`[pageerror] ${e.message}`));
      page.on("request", (r) => fetched.push(r.url()));
      try {
        await page.goto(`${server!.url}web/index.html?hub=worker`);
        await page.waitForFunction(() => (window as unknown as Pg).playground?.agent !== undefined);
        expect(await page.evaluate(() => (window as unknown as Pg).playground.agent!.jspi)).toBe(true);
        expect(await page.textContent("#agent-panel .why")).toMatch(/clawft\.wasm runs in this page/);
        await page.waitForLoadState("networkidle");
        // Nothing of the agent is loaded before the first message.
        expect(fetched.filter((u) => /clawft-web|agent-chat/.test(u))).toEqual([]);

        await page.fill("#agent-panel input[name=endpoint]", llm!.apiBase);
        await page.fill("#agent-panel input[name=key]", "sk-test");
        await page.fill("#agent-panel input[name=model]", "test-model");

        // Turn 1: a streamed answer, shown as the agent prints it: 3 SSE chunks 500 ms apart, and
        // the page shows the first before the last has been sent (the guest is suspended, not the page).
        llm!.script("openai", { reply: "Hello from the scripted model, in three chunks.", chunks: 3, chunkDelayMs: 500 });
        const ended = send(page, "Say hello");
        await page.waitForFunction(() => (document.querySelector("#agent-panel .answer")?.textContent ?? "").startsWith("Hello from"), undefined, { timeout: 60_000 });
        expect(await page.textContent("#agent-panel .answer")).not.toContain("three chunks.");
        expect(await ended).toBe("ok · 0 tool call(s)");
        expect(await page.textContent("#agent-panel .answer")).toBe("Hello from the scripted model, in three chunks.\n");
        expect(fetched.some((u) => /clawft-web\.core.*\.wasm$/.test(u))).toBe(true);
        const first = llm!.requestsTo("openai")[0]!;
        expect(first.headers.authorization).toBe("Bearer sk-test");
        expect(first.body).toMatchObject({ model: "test-model", stream: true });
        expect(messagesOf(0).at(-1)).toEqual({ role: "user", content: "Say hello" });

        // Turn 2: the model calls write_file twice; the contract commits the note and denies the
        // config overwrite (the default contract's no_config_overwrite); the model gets both results.
        llm!.script(
          "openai",
          {
            toolCalls: [
              { name: "write_file", arguments: { path: "notes/hello.txt", content: "written from the page\n" } },
              { name: "write_file", arguments: { path: "config.json", content: "{}" } },
            ],
          },
          { reply: "I wrote notes/hello.txt." },
        );
        const r = await page.evaluate(() => (window as unknown as Pg).playground.agent!.chat("Write a note"));
        expect(r).toMatchObject({ code: 0, answer: "I wrote notes/hello.txt." });
        expect(r.tools).toHaveLength(2);
        expect(r.tools[0]).toMatchObject({ seq: 1, tool: "write_file", decision: "commit", session: "web:playground" });
        expect(r.tools[1]).toMatchObject({ seq: 2, tool: "write_file", decision: "deny", guard: "no_config_overwrite" });
        expect(r.tools[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
        expect(await page.textContent("#agent-panel .tools li.commit")).toMatch(/^write_file\(.*notes\/hello\.txt.*\) → commit$/);
        expect(await page.textContent("#agent-panel .tools li.deny")).toMatch(/^write_file\(.*config\.json.*\) → deny by no_config_overwrite/);
        expect(await page.textContent("#agent-panel .answer")).toBe("I wrote notes/hello.txt.\n");
        // The history of turn 1 went with turn 2 (one session in the in-memory home), and the tool result came back.
        const second = messagesOf(1);
        expect(second.filter((m) => m.role !== "system").slice(0, 3)).toEqual([
          { role: "user", content: "Say hello" },
          { role: "assistant", content: "Hello from the scripted model, in three chunks." },
          { role: "user", content: "Write a note" },
        ]);
        const third = messagesOf(2);
        const call = third.find((m) => m.tool_calls)!.tool_calls![0]!;
        expect(call.function.name).toBe("write_file");
        const results = third.filter((m) => m.role === "tool");
        expect(results.map((m) => m.tool_call_id)).toEqual(third.find((m) => m.tool_calls)!.tool_calls!.map((c) => c.id));
        expect(results[0]!.tool_call_id).toBe(call.id);
        expect(String(results[0]!.content)).not.toMatch(/denied|error/i);
        expect(String(results[1]!.content)).toContain('denied by guard "no_config_overwrite"');
        expect(llm!.unscripted).toEqual([]);

        // An endpoint nobody listens on: the agent's own error line, exit 1, the page still usable.
        await page.fill("#agent-panel input[name=endpoint]", `http://127.0.0.1:${await refusedPort()}/v1`);
        const out = await send(page, "Anyone there?");
        expect(out).toMatch(/^exit 1: clawft: /);
      } catch (err) {
        if (err instanceof Error) err.message += `\n--- page console ---\n${log.lines.join("\n")}`;
        throw err;
      }
    });
  }, 240_000);

  it("says why it cannot chat where the browser lacks JSPI, and loads nothing of the agent", async () => {
    await withBrowser(async (context) => {
      // A browser without JSPI, as before Chromium 137: the two entry points are absent.
      await context.addInitScript(() => {
        delete (WebAssembly as unknown as { Suspending?: unknown }).Suspending;
        delete (WebAssembly as unknown as { promising?: unknown }).promising;
      });
      const fetched: string[] = [];
      const page = await openPage(context, "about:blank");
      page.on("request", (r) => fetched.push(r.url()));
      await page.goto(`${server!.url}web/index.html?hub=worker`);
      await page.waitForFunction(() => (window as unknown as Pg).playground?.agent !== undefined);
      expect(await page.evaluate(() => (window as unknown as Pg).playground.agent!.jspi)).toBe(false);
      expect(await page.textContent("#agent-panel .why")).toMatch(/cannot chat from this page: this browser lacks JSPI.*block\(\) returns a Promise/);
      expect(await page.locator("#agent-panel input[name=message]").count()).toBe(0);
      const err = await page.evaluate(() => (window as unknown as Pg).playground.agent!.chat("hi").then(() => "resolved", (e: Error) => `${e.name}: ${e.message}`));
      expect(err).toMatch(/^AgentWebError: this browser lacks JS Promise Integration/);
      await page.waitForLoadState("networkidle");
      expect(fetched.filter((u) => /clawft-web|agent-chat/.test(u))).toEqual([]);
    });
  }, 120_000);
});
