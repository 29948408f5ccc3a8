/**
 * A scripted LLM server on 127.0.0.1 for the agent's tests: it speaks the OpenAI Chat
 * Completions API (`POST /v1/chat/completions`, JSON and `stream: true` SSE), the Anthropic
 * Messages API (`POST /v1/messages`, JSON and SSE events) and OpenAI embeddings
 * (`POST /v1/embeddings`), and answers each request with the next step of that endpoint's
 * script: a reply, tool calls, an HTTP error, a malformed body, a stalled body or a closed
 * socket. Every request is recorded (method, path, headers, parsed body) so a test can assert
 * what the agent sent.
 *
 * Wire formats follow the providers' API references:
 * - OpenAI: platform.openai.com/docs/api-reference/chat (chat.completion, chat.completion.chunk,
 *   `data: [DONE]`; tool-call deltas carry `index`, and `id`/`type`/`function.name` only in the
 *   first delta of a call) and /docs/api-reference/embeddings; errors `{error: {message, type,
 *   param, code}}`.
 * - Anthropic: docs.anthropic.com/en/api/messages and /en/docs/build-with-claude/streaming
 *   (message_start, content_block_start, ping, content_block_delta with text_delta or
 *   input_json_delta, content_block_stop, message_delta, message_stop); errors `{type: "error",
 *   error: {type, message}}` (/en/api/errors).
 * - SSE framing: WHATWG HTML §9.2 "Server-sent events" (`event:`/`data:` lines, blank line ends
 *   an event).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createHash } from "node:crypto";
import type { AddressInfo, Socket } from "node:net";
import { freePort } from "./redis.js";

/** The three scripted endpoints. */
export type Endpoint = "openai" | "anthropic" | "embeddings";

const PATHS: Record<string, Endpoint> = {
  "/v1/chat/completions": "openai",
  "/v1/messages": "anthropic",
  "/v1/embeddings": "embeddings",
};

/** Fields every step may carry. */
interface StepBase {
  /** How many requests this step answers before the next one is used. Defaults to 1; `Infinity` answers every later request. */
  times?: number;
  /** Milliseconds to wait before the response starts. Defaults to 0. */
  delayMs?: number;
}

/** How a reply is delivered. */
interface Delivery {
  /** Answer as SSE (true) or JSON (false). Defaults to what the request asked (`stream: true`). */
  stream?: boolean;
  /** Number of SSE chunks the text (or each call's arguments) is split into. Defaults to 3. */
  chunks?: number;
  /** Milliseconds between two SSE chunks. Defaults to 0. */
  chunkDelayMs?: number;
}

/** A text answer. */
export interface ReplyStep extends StepBase, Delivery {
  reply: string;
  /** OpenAI `finish_reason` / Anthropic `stop_reason`. Defaults to "stop" / "end_turn". */
  finishReason?: string;
}

/** One function call the model proposes. */
export interface ToolCallSpec {
  name: string;
  /** The call's arguments: an object (sent as its JSON) or a string sent verbatim (to script invalid JSON). */
  arguments: unknown;
  /** The call's id. Defaults to `call_<n>` (OpenAI) or `toolu_<n>` (Anthropic). */
  id?: string;
}

/** An answer proposing tool calls, optionally after some text. */
export interface ToolCallsStep extends StepBase, Delivery {
  toolCalls: ToolCallSpec[];
  text?: string;
}

/** An HTTP status with a body (an object is sent as JSON; by default the endpoint's own error shape). */
export interface StatusStep extends StepBase {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Status 200 with a body that is not JSON: `true` sends a JSON answer cut in the middle, a
 * string sends that text. With `stream`, an SSE response whose first `data:` is that text.
 */
export interface MalformedStep extends StepBase {
  malformed: true | string;
  stream?: boolean;
}

/**
 * A response that stops: `"headers"` sends the status line and headers, then nothing;
 * `"midstream"` sends the first half of `reply`'s answer (SSE chunks, or JSON bytes), then
 * nothing. The connection stays open until the server closes.
 */
export interface StallStep extends StepBase, Delivery {
  stall: "headers" | "midstream";
  reply?: string;
}

/** The socket is closed without any response. */
export interface CloseStep extends StepBase {
  close: true;
}

/** One scripted answer. */
export type Step = ReplyStep | ToolCallsStep | StatusStep | MalformedStep | StallStep | CloseStep;

/** One request as the server received it. */
export interface RecordedRequest {
  /** The endpoint the path names, or undefined for an unknown path. */
  endpoint: Endpoint | undefined;
  method: string;
  path: string;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  body: unknown;
  /** The body as received (UTF-8). */
  raw: string;
}

/** Options of {@link startLlmServer}. */
export interface LlmServerOptions {
  /** When set, requests must carry it (`Authorization: Bearer …` / `x-api-key`), or get 401. Defaults to accepting any key. */
  apiKey?: string;
  /** Length of the vectors `/v1/embeddings` returns unless the request asks `dimensions`. Defaults to 384. */
  embeddingDim?: number;
  /**
   * Lets any page call it (CORS, for the browser tests): every response allows any origin and the
   * `authorization`, `content-type`, `x-api-key` and `anthropic-version` headers, and a preflight
   * `OPTIONS` is answered 204 without being recorded. Defaults to false.
   */
  cors?: boolean;
}

/** A running scripted server. */
export interface LlmServer {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** `http://127.0.0.1:PORT/v1`, what a provider's `apiBase` is set to. */
  apiBase: string;
  port: number;
  /** Appends steps to the endpoint's script. */
  script(endpoint: Endpoint, ...steps: Step[]): void;
  /** Every request received so far, in order. */
  requests: RecordedRequest[];
  /** The requests to one endpoint. */
  requestsTo(endpoint: Endpoint): RecordedRequest[];
  /** Requests to a chat endpoint that found its script empty (answered 500 naming the endpoint). */
  unscripted: RecordedRequest[];
  /** Steps not yet used up, per endpoint. */
  remaining(endpoint: Endpoint): number;
  /** Empties the scripts and the records. */
  reset(): void;
  /** Closes every connection (stalled ones included) and stops listening. */
  close(): Promise<void>;
}

/** Splits `s` into `n` pieces of nearly equal length, never inside a surrogate pair; none empty unless `s` is. */
export function splitText(s: string, n: number): string[] {
  const cps = [...s];
  const parts = Math.max(1, Math.min(n, cps.length));
  const out: string[] = [];
  for (let i = 0; i < parts; i++) out.push(cps.slice(Math.floor((i * cps.length) / parts), Math.floor(((i + 1) * cps.length) / parts)).join(""));
  return out;
}

/**
 * A deterministic embedding of `text`: each lower-cased word adds ±1 to a few dimensions chosen
 * by its SHA-256 (a hashed bag of words), and the sum is scaled to unit length, so texts sharing
 * words are near each other. Empty text gives the first unit vector.
 */
export function embed(text: string, dim: number): number[] {
  const v = new Float64Array(dim);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    const h = createHash("sha256").update(word).digest();
    for (let j = 0; j < 4; j++) v[h.readUInt32LE(j * 4) % dim]! += h[16 + j]! & 1 ? 1 : -1;
  }
  let norm = Math.hypot(...v);
  if (norm === 0) {
    v[0] = 1;
    norm = 1;
  }
  return Array.from(v, (x) => x / norm);
}

/** Rough token count (4 characters a token) for the `usage` fields. */
const tokens = (s: string) => Math.ceil(s.length / 4);

const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Default error bodies in each API's shape. */
function errorBody(endpoint: Endpoint, status: number, message?: string): unknown {
  if (endpoint === "anthropic") {
    const type =
      { 400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 529: "overloaded_error" }[status] ??
      "api_error";
    return { type: "error", error: { type, message: message ?? `scripted HTTP ${status}` } };
  }
  const [type, code] =
    status === 401 ? ["invalid_request_error", "invalid_api_key"] :
    status === 404 ? ["invalid_request_error", "model_not_found"] :
    status === 429 ? ["requests", "rate_limit_exceeded"] :
    status >= 500 ? ["server_error", null] :
    ["invalid_request_error", null];
  return { error: { message: message ?? `scripted HTTP ${status}`, type, param: null, code } };
}

/** Writes one SSE event (`event:` line when named, one `data:` line). */
function sse(res: ServerResponse, data: string, event?: string): void {
  res.write(`${event ? `event: ${event}\n` : ""}data: ${data}\n\n`);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function startSse(res: ServerResponse): void {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  res.flushHeaders();
}

/** A step made concrete for one request: what the answer carries. */
interface Answer {
  text: string;
  calls: Array<{ id: string; name: string; args: string }>;
  finish?: string;
  model: string;
  prompt: string;
}

/** The OpenAI SSE chunks of `a` (chat.completion.chunk objects, without `[DONE]`). */
function openaiChunks(a: Answer, id: string, created: number, n: number, includeUsage: boolean): unknown[] {
  const chunk = (delta: unknown, finish: string | null) => ({
    id, object: "chat.completion.chunk", created, model: a.model, system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  const out: unknown[] = [chunk({ role: "assistant", content: a.calls.length && !a.text ? null : "" }, null)];
  if (a.text) for (const piece of splitText(a.text, n)) out.push(chunk({ content: piece }, null));
  a.calls.forEach((c, index) => {
    out.push(chunk({ tool_calls: [{ index, id: c.id, type: "function", function: { name: c.name, arguments: "" } }] }, null));
    for (const piece of splitText(c.args, n)) out.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null));
  });
  out.push(chunk({}, a.finish ?? (a.calls.length ? "tool_calls" : "stop")));
  if (includeUsage) {
    const completion = tokens(a.text + a.calls.map((c) => c.args).join(""));
    out.push({ id, object: "chat.completion.chunk", created, model: a.model, choices: [], usage: { prompt_tokens: tokens(a.prompt), completion_tokens: completion, total_tokens: tokens(a.prompt) + completion } });
  }
  return out;
}

/** The Anthropic SSE events of `a`, as [event name, data object] pairs. */
function anthropicEvents(a: Answer, id: string, n: number): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [
    ["message_start", { type: "message_start", message: { id, type: "message", role: "assistant", content: [], model: a.model, stop_reason: null, stop_sequence: null, usage: { input_tokens: tokens(a.prompt), output_tokens: 1 } } }],
    ["ping", { type: "ping" }],
  ];
  let index = 0;
  if (a.text) {
    out.push(["content_block_start", { type: "content_block_start", index, content_block: { type: "text", text: "" } }]);
    for (const piece of splitText(a.text, n)) out.push(["content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text: piece } }]);
    out.push(["content_block_stop", { type: "content_block_stop", index }]);
    index++;
  }
  for (const c of a.calls) {
    out.push(["content_block_start", { type: "content_block_start", index, content_block: { type: "tool_use", id: c.id, name: c.name, input: {} } }]);
    for (const piece of splitText(c.args, n)) out.push(["content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: piece } }]);
    out.push(["content_block_stop", { type: "content_block_stop", index }]);
    index++;
  }
  const stop = a.finish ?? (a.calls.length ? "tool_use" : "end_turn");
  out.push(["message_delta", { type: "message_delta", delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: tokens(a.text + a.calls.map((c) => c.args).join("")) } }]);
  out.push(["message_stop", { type: "message_stop" }]);
  return out;
}

/** The non-streamed answer body of `a` in the endpoint's format. */
function wholeAnswer(endpoint: Endpoint, a: Answer, id: string, created: number): unknown {
  const completion = tokens(a.text + a.calls.map((c) => c.args).join(""));
  if (endpoint === "anthropic") {
    const content: unknown[] = a.text ? [{ type: "text", text: a.text }] : [];
    for (const c of a.calls) content.push({ type: "tool_use", id: c.id, name: c.name, input: JSON.parse(c.args) as unknown });
    return {
      id, type: "message", role: "assistant", model: a.model, content,
      stop_reason: a.finish ?? (a.calls.length ? "tool_use" : "end_turn"), stop_sequence: null,
      usage: { input_tokens: tokens(a.prompt), output_tokens: completion },
    };
  }
  const message: Record<string, unknown> = { role: "assistant", content: a.calls.length && !a.text ? null : a.text, refusal: null };
  if (a.calls.length) message.tool_calls = a.calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.args } }));
  return {
    id, object: "chat.completion", created, model: a.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: a.finish ?? (a.calls.length ? "tool_calls" : "stop") }],
    usage: { prompt_tokens: tokens(a.prompt), completion_tokens: completion, total_tokens: tokens(a.prompt) + completion },
  };
}

/** Who may call: null when the request's credentials and headers are accepted, else the error response. */
function refuse(endpoint: Endpoint, headers: Record<string, string>, apiKey: string | undefined): [number, unknown] | null {
  if (endpoint === "anthropic") {
    const key = headers["x-api-key"];
    if (!key) return [401, errorBody(endpoint, 401, "x-api-key header is required")];
    if (apiKey !== undefined && key !== apiKey) return [401, errorBody(endpoint, 401, "invalid x-api-key")];
    if (!headers["anthropic-version"]) return [400, errorBody(endpoint, 400, "anthropic-version: header is required")];
    return null;
  }
  if (apiKey === undefined) return null;
  const auth = headers.authorization ?? "";
  if (auth !== `Bearer ${apiKey}`) {
    return [401, errorBody(endpoint, 401, auth ? "Incorrect API key provided." : "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")];
  }
  return null;
}

/**
 * Starts a scripted server on 127.0.0.1 at a random port. Requests to a chat endpoint whose
 * script is empty get HTTP 500 naming the endpoint (and are listed in `unscripted`);
 * `/v1/embeddings` with an empty script answers with {@link embed} vectors.
 * @param options {@link LlmServerOptions}.
 */
export async function startLlmServer(options: LlmServerOptions = {}): Promise<LlmServer> {
  const dim = options.embeddingDim ?? 384;
  const scripts: Record<Endpoint, Array<{ step: Step; left: number }>> = { openai: [], anthropic: [], embeddings: [] };
  const requests: RecordedRequest[] = [];
  const unscripted: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let serial = 0;

  function next(endpoint: Endpoint): Step | undefined {
    const q = scripts[endpoint];
    const head = q[0];
    if (!head) return undefined;
    if (--head.left <= 0) q.shift();
    return head.step;
  }

  async function answerChat(endpoint: Endpoint, step: Step, rec: RecordedRequest, res: ServerResponse): Promise<void> {
    const body = (rec.body ?? {}) as { model?: string; stream?: boolean; stream_options?: { include_usage?: boolean } };
    const asked = body.stream === true;
    const n = ++serial;
    const created = Math.floor(Date.now() / 1000);
    const id = endpoint === "anthropic" ? `msg_${n}` : `chatcmpl-${n}`;
    if ("status" in step) return sendJson(res, step.status, step.body ?? errorBody(endpoint, step.status), step.headers);
    if ("close" in step) {
      res.socket?.destroy();
      return;
    }
    if ("malformed" in step) {
      const text = step.malformed === true ? '{"id":"' + id + '","choices":[{"index":0,"message":{"role":"assistant","content":"cut he' : step.malformed;
      if (step.stream ?? asked) {
        startSse(res);
        sse(res, text);
        res.end();
        return;
      }
      return sendJson(res, 200, text);
    }
    const stream = step.stream ?? asked;
    const pieces = step.chunks ?? 3;
    const gap = step.chunkDelayMs ?? 0;
    const answer: Answer = { text: "", calls: [], model: body.model ?? "scripted", prompt: rec.raw };
    if ("reply" in step && !("stall" in step)) {
      answer.text = step.reply;
      answer.finish = step.finishReason;
    } else if ("toolCalls" in step) {
      answer.text = step.text ?? "";
      answer.calls = step.toolCalls.map((c, i) => ({
        id: c.id ?? (endpoint === "anthropic" ? `toolu_${n}_${i}` : `call_${n}_${i}`),
        name: c.name,
        args: typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments),
      }));
    } else if ("stall" in step) {
      answer.text = step.reply ?? "This answer never finishes.";
    }
    // SSE events as [event name or undefined, data text].
    const events: Array<[string | undefined, string]> = !stream ? [] :
      endpoint === "anthropic" ? anthropicEvents(answer, id, pieces).map(([e, d]) => [e, JSON.stringify(d)]) :
      [...openaiChunks(answer, id, created, pieces, body.stream_options?.include_usage === true).map((d): [undefined, string] => [undefined, JSON.stringify(d)]), [undefined, "[DONE]"]];
    if ("stall" in step) {
      if (stream) startSse(res);
      const whole = JSON.stringify(wholeAnswer(endpoint, answer, id, created));
      if (!stream) {
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(whole) });
        res.flushHeaders();
      }
      if (step.stall === "midstream") {
        if (stream) for (const [e, d] of events.slice(0, events.length >> 1)) sse(res, d, e);
        else res.write(whole.slice(0, whole.length >> 1));
      }
      return; // nothing more: the socket stays open until close()
    }
    if (!stream) return sendJson(res, 200, wholeAnswer(endpoint, answer, id, created));
    startSse(res);
    for (const [i, [e, d]] of events.entries()) {
      if (i > 0 && gap > 0) await wait(gap);
      sse(res, d, e);
    }
    res.end();
  }

  function answerEmbeddings(step: Step | undefined, rec: RecordedRequest, res: ServerResponse): void {
    if (step && "status" in step) return sendJson(res, step.status, step.body ?? errorBody("embeddings", step.status), step.headers);
    if (step && "close" in step) {
      res.socket?.destroy();
      return;
    }
    if (step && "malformed" in step) return sendJson(res, 200, step.malformed === true ? '{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,' : step.malformed);
    if (step && "stall" in step) {
      res.writeHead(200, { "content-type": "application/json" });
      res.flushHeaders();
      return;
    }
    if (step) return sendJson(res, 500, errorBody("embeddings", 500, "llm-server: reply and toolCalls steps do not apply to /v1/embeddings"));
    const body = rec.body as { input?: unknown; model?: string; dimensions?: number; encoding_format?: string } | undefined;
    const input = body?.input;
    const texts = typeof input === "string" ? [input] : Array.isArray(input) && input.every((x) => typeof x === "string") ? (input as string[]) : undefined;
    if (!texts || texts.length === 0) return sendJson(res, 400, errorBody("embeddings", 400, "'input' must be a non-empty string or array of strings"));
    const d = body?.dimensions ?? dim;
    if (!Number.isInteger(d) || d < 1) return sendJson(res, 400, errorBody("embeddings", 400, "'dimensions' must be a positive integer"));
    const data = texts.map((t, index) => {
      const v = embed(t, d);
      const embedding = body?.encoding_format === "base64" ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v;
      return { object: "embedding", index, embedding };
    });
    const used = texts.reduce((s, t) => s + tokens(t), 0);
    sendJson(res, 200, { object: "list", data, model: body?.model ?? "scripted", usage: { prompt_tokens: used, total_tokens: used } });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    const path = (req.url ?? "/").split("?")[0]!;
    const endpoint = PATHS[path];
    const rec: RecordedRequest = { endpoint, method: req.method ?? "", path, headers, body, raw };
    requests.push(rec);
    req.socket.setNoDelay(true);
    if (!endpoint) return sendJson(res, 404, errorBody("openai", 404, `Unknown request URL: ${req.method} ${path}`));
    if (req.method !== "POST") return sendJson(res, 405, errorBody(endpoint, 405, `${req.method} is not allowed on ${path}; use POST`), { allow: "POST" });
    const refused = refuse(endpoint, headers, options.apiKey);
    if (refused) return sendJson(res, refused[0], refused[1]);
    if (raw && body === undefined) return sendJson(res, 400, errorBody(endpoint, 400, "the request body is not valid JSON"));
    const step = next(endpoint);
    if (step?.delayMs) await wait(step.delayMs);
    if (endpoint === "embeddings") return answerEmbeddings(step, rec, res);
    if (!step) {
      unscripted.push(rec);
      return sendJson(res, 500, errorBody(endpoint, 500, `llm-server: no scripted step left for ${path}`));
    }
    return answerChat(endpoint, step, rec, res);
  }

  const server: Server = createServer((req, res) => {
    if (options.cors) {
      res.setHeader("access-control-allow-origin", "*");
      res.setHeader("access-control-allow-headers", "authorization, content-type, x-api-key, anthropic-version");
      res.setHeader("access-control-allow-methods", "GET, POST, OPTIONS");
      if (req.method === "OPTIONS") {
        res.statusCode = 204;
        return void res.end();
      }
    }
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, errorBody("openai", 500, `llm-server: ${(e as Error).message}`));
      else res.destroy();
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    apiBase: `${url}/v1`,
    port,
    script(endpoint, ...steps) {
      for (const step of steps) scripts[endpoint].push({ step, left: step.times ?? 1 });
    },
    requests,
    requestsTo: (endpoint) => requests.filter((r) => r.endpoint === endpoint),
    unscripted,
    remaining: (endpoint) => scripts[endpoint].length,
    reset() {
      for (const q of Object.values(scripts)) q.length = 0;
      requests.length = 0;
      unscripted.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A loopback port nobody listens on, for the "connection refused" scenario: a port the OS just
 * handed out and released. (Another process could take it in between; on a test machine that
 * is rare enough not to matter.)
 */
export const refusedPort: () => Promise<number> = freePort;
