/**
 * The playground's agent panel: clawft.wasm chats from the page against an OpenAI-compatible
 * endpoint the user types in, where the browser has JSPI; where it has not, the panel says why.
 *
 * Why JSPI: in a browser, preview2-shim's `wasi:http` performs requests with `fetch`, so
 * `pollable.block()` and `poll` return a Promise instead of blocking, and a synchronous guest
 * cannot wait for it. The agent's browser build (build/jco/clawft-web/, scripts/agent-web.mjs)
 * is transpiled by jco with those imports wrapped in `WebAssembly.Suspending` and `run` in
 * `WebAssembly.promising`, so the guest is suspended while the page's event loop runs the fetch.
 * The chat (web/panels/agent-chat.ts: the glue, the wasm and the shim's WASI) and the endpoint
 * probe (web/panels/agent-probe.ts) are loaded with `import()` on first use: a page that never
 * uses the panel downloads neither.
 *
 * Each turn runs clawft.wasm once (`chat --session web:playground <message>`) in an in-memory
 * home directory holding `config.json` for the typed endpoint, key and model; the streamed
 * answer is shown as it arrives, and the governed tool calls of the turn (from the agent's
 * hash-chained `workspace/audit.log`) below it. The key stays in the page's memory and goes
 * only to the endpoint.
 * @module
 */
import type { AgentSession, AuditEntry } from "./agent-chat.js";
import type { ProbeResult } from "./agent-probe.js";
import { hasJspi, requireJspi } from "./agent-web.js";

export type { ProbeResult } from "./agent-probe.js";
export type { AuditEntry } from "./agent-chat.js";

/** The outcome of one chat turn from the panel (tests read it). */
export interface ChatOutcome {
  /** clawft.wasm's exit status: 0, or 1 with its error line in `stderr`. */
  code: number;
  /** The answer: what the agent wrote to stdout, trimmed. */
  answer: string;
  stderr: string;
  /** The audit entries this turn added: one per tool call the model proposed, with the contract's decision. */
  tools: AuditEntry[];
}

/** What the panel exposes on `window.playground.agent`. */
export interface AgentPanel {
  /** Sends `GET <endpoint>/models` through the shim's wasi:http. */
  probe(endpoint: string, apiKey?: string): Promise<ProbeResult>;
  /** Whether this browser has JSPI, so the panel chats (true) or says why it cannot (false). */
  jspi: boolean;
  /**
   * One chat turn with the endpoint, key and model in the panel's fields (as the send button
   * does, showing the same). Rejects with an `AgentWebError` when this browser lacks JSPI, the
   * endpoint is not an http(s) URL, or clawft.wasm cannot run; the agent's own failures (an
   * unreachable endpoint, a 401) resolve with `code` 1 and its message.
   */
  chat(message: string): Promise<ChatOutcome>;
}

/** The explanation shown where the agent cannot chat (no JSPI). */
const WHY_NOT =
  "clawft.wasm cannot chat from this page: this browser lacks JSPI (WebAssembly.Suspending and WebAssembly.promising). " +
  "In a browser, preview2-shim's wasi:http sends requests with fetch, so pollable.block() returns a Promise instead of blocking; " +
  "the agent's browser build waits for it by suspending the wasm through JSPI (Chromium 137 and later have it). " +
  "Run the agent with `npx clawft agent chat` instead (docs/agent.md). Meanwhile “probe” sends GET <endpoint>/models " +
  "through the same wasi:http, showing whether the endpoint answers a browser at all (it must allow CORS).";

/** The line shown above the chat where it can run. */
const HOW =
  "clawft.wasm runs in this page (JSPI build; loaded on the first message). Each message is one `chat` turn against the " +
  "OpenAI-compatible endpoint below, which must allow this page's origin (CORS); the key stays in this page's memory and goes " +
  "only to that endpoint. Tool calls are decided by the agent's contract and listed with the decision.";

/** Fills `el` with the panel; see {@link AgentPanel}. */
export function mountAgentPanel(el: HTMLElement): AgentPanel {
  const jspi = hasJspi();
  el.innerHTML = `
<h2>Agent <small>clawft.wasm · OpenAI-compatible endpoint</small></h2>
<form class="row endpoint">
  <input name="endpoint" value="http://127.0.0.1:8080/v1" aria-label="endpoint (base URL)">
  <input name="key" type="password" placeholder="API key (optional)" aria-label="API key">
  <input name="model" value="gpt-4o-mini" aria-label="model" size="12">
  <button type="submit" name="probe">probe</button>
</form>
<p class="why"></p>
${
  jspi
    ? `<form class="row chat">
  <input name="message" placeholder="Ask the agent…" aria-label="message">
  <button type="submit" name="send">send</button>
</form>
<pre class="answer" aria-live="polite"></pre>
<ol class="tools" aria-label="tool calls" style="overflow-wrap: anywhere"></ol>`
    : ""
}
<pre class="out" role="status"></pre>`;
  el.querySelector(".why")!.textContent = jspi ? HOW : WHY_NOT;
  const field = (name: string) => el.querySelector<HTMLInputElement>(`input[name=${name}]`)!;
  const out = el.querySelector<HTMLElement>(".out")!;
  // Absent without JSPI (chat() then throws before using them).
  const answerEl = el.querySelector<HTMLElement>(".answer")!;
  const toolsEl = el.querySelector<HTMLElement>(".tools")!;

  const probe = async (endpoint: string, apiKey?: string) => (await import("./agent-probe.js")).probeUrl(`${endpoint.replace(/\/+$/, "")}/models`, apiKey);
  el.querySelector("form.endpoint")!.addEventListener("submit", (ev) => {
    ev.preventDefault();
    out.textContent = "probing…";
    probe(field("endpoint").value, field("key").value || undefined).then(
      (r) => (out.textContent = `${r.status !== undefined ? `HTTP ${r.status}` : "failed"} · block() returned ${r.blockReturnsPromise ? "a Promise" : "at once"}\n${r.text}`),
      (err: Error) => (out.textContent = `probe failed: ${err.message}`),
    );
  });

  // One session (one in-memory home: history, workspace, audit log) for the page's lifetime;
  // each turn rewrites its config.json from the fields, so a changed endpoint or key applies.
  let session: Promise<AgentSession> | undefined;
  async function chat(message: string): Promise<ChatOutcome> {
    requireJspi(); // before loading anything
    const endpoint = { apiBase: field("endpoint").value.trim(), apiKey: field("key").value || undefined, model: field("model").value };
    session ??= import("./agent-chat.js").then((m) => m.createAgentSession(endpoint));
    const s = await session.catch((e: unknown) => {
      session = undefined; // a bad first endpoint must not stick
      throw e;
    });
    s.configure(endpoint);
    const before = s.audit().length;
    answerEl.textContent = "";
    out.textContent = "…";
    const r = await s.chat(message, (piece) => (answerEl.textContent += piece));
    const tools = s.audit().slice(before);
    for (const t of tools) {
      const li = document.createElement("li");
      li.className = t.decision;
      li.textContent = `${t.tool ?? "?"}(${JSON.stringify(t.args ?? {})}) → ${t.decision}${t.guard ? ` by ${t.guard}` : ""}${t.reason ? `: ${t.reason}` : ""}`;
      toolsEl.append(li);
    }
    out.textContent = r.code === 0 ? `ok · ${tools.length} tool call(s)` : `exit ${r.code}: ${r.stderr.trim()}`;
    return { code: r.code, answer: r.stdout.trim(), stderr: r.stderr, tools };
  }
  el.querySelector("form.chat")?.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = field("message");
    const message = input.value.trim();
    if (!message) return;
    input.value = "";
    chat(message).catch((err: Error) => (out.textContent = `${err.name}: ${err.message}`));
  });
  return { probe, jspi, chat };
}
