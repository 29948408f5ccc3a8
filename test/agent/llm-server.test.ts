/**
 * The scripted LLM server (test/helpers/llm-server.ts) read with plain `fetch`: its answers
 * must have the shapes the OpenAI and Anthropic API references document, streamed and whole,
 * and each failure step must fail the way a real server or network does.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from "vitest";
import { startLlmServer, refusedPort, splitText, embed, type LlmServer } from "../helpers/llm-server.js";

let llm: LlmServer;
beforeAll(async () => {
  llm = await startLlmServer();
});
afterAll(() => llm.close());
beforeEach(() => llm.reset());

const json = { "content-type": "application/json" };
const anthropicHeaders = { ...json, "x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01" };

function post(path: string, body: unknown, headers: Record<string, string> = json, signal?: AbortSignal): Promise<Response> {
  return fetch(llm.url + path, { method: "POST", headers, body: JSON.stringify(body), signal });
}

/** SSE events of a whole stream (WHATWG HTML §9.2: `field: value` lines, a blank line ends an event). */
function events(text: string): Array<{ event: string; data: string }> {
  const out: Array<{ event: string; data: string }> = [];
  for (const block of text.split("\n\n")) {
    if (!block.trim()) continue;
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) data.push(line.slice(6));
    }
    out.push({ event, data: data.join("\n") });
  }
  return out;
}

describe("OpenAI chat completions", () => {
  it("answers a non-streamed reply as a chat.completion", async () => {
    llm.script("openai", { reply: "Hello there." });
    const r = await post("/v1/chat/completions", { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json");
    const body = (await r.json()) as Record<string, any>;
    expect(body).toMatchObject({ object: "chat.completion", model: "gpt-4o-mini" });
    expect(body.choices).toEqual([{ index: 0, message: { role: "assistant", content: "Hello there.", refusal: null }, logprobs: null, finish_reason: "stop" }]);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
  });

  it("streams a reply as chat.completion.chunk deltas ending in [DONE]", async () => {
    llm.script("openai", { reply: "One two three four.", chunks: 4 });
    const r = await post("/v1/chat/completions", { model: "m", stream: true, messages: [] });
    expect(r.headers.get("content-type")).toBe("text/event-stream");
    const evs = events(await r.text());
    expect(evs.at(-1)!.data).toBe("[DONE]");
    const chunks = evs.slice(0, -1).map((e) => JSON.parse(e.data) as { object: string; choices: Array<{ delta: { content?: string }; finish_reason: string | null }> });
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    expect(chunks.filter((c) => c.choices[0]!.delta.content).length).toBe(4);
    expect(chunks.map((c) => c.choices[0]!.delta.content ?? "").join("")).toBe("One two three four.");
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("stop");
    expect(chunks.slice(0, -1).every((c) => c.choices[0]!.finish_reason === null)).toBe(true);
  });

  it("streams tool calls with index, id and name first, then the arguments in pieces", async () => {
    llm.script("openai", { toolCalls: [{ name: "write_file", arguments: { path: "a.txt", content: "x" } }, { name: "list_directory", arguments: {} }], chunks: 3 });
    const r = await post("/v1/chat/completions", { model: "m", stream: true, stream_options: { include_usage: true }, messages: [] });
    const evs = events(await r.text()).slice(0, -1).map((e) => JSON.parse(e.data) as { choices: any[]; usage?: unknown });
    expect(evs.at(-1)!.choices).toEqual([]);
    expect(evs.at(-1)!.usage).toBeDefined();
    const calls: Array<{ id?: string; name?: string; args: string }> = [];
    let finish: string | null = null;
    for (const e of evs.slice(0, -1)) {
      const c = e.choices[0];
      finish = c.finish_reason ?? finish;
      for (const d of c.delta.tool_calls ?? []) {
        const slot = (calls[d.index] ??= { args: "" });
        if (d.id) slot.id = d.id;
        if (d.function?.name) slot.name = d.function.name;
        slot.args += d.function?.arguments ?? "";
      }
    }
    expect(finish).toBe("tool_calls");
    expect(calls.map((c) => c.name)).toEqual(["write_file", "list_directory"]);
    expect(calls.every((c) => c.id && c.id.startsWith("call_"))).toBe(true);
    expect(JSON.parse(calls[0]!.args)).toEqual({ path: "a.txt", content: "x" });
    expect(JSON.parse(calls[1]!.args)).toEqual({});
    const pieces = evs.filter((e) => e.choices[0]?.delta.tool_calls?.[0]?.index === 0 && e.choices[0].delta.tool_calls[0].function.arguments);
    expect(pieces.length).toBe(3);
  });

  it("answers non-streamed tool calls with content null and finish_reason tool_calls", async () => {
    llm.script("openai", { toolCalls: [{ name: "read_file", arguments: '{"path":', id: "call_x" }] });
    const body = (await (await post("/v1/chat/completions", { model: "m", messages: [] })).json()) as any;
    expect(body.choices[0].finish_reason).toBe("tool_calls");
    expect(body.choices[0].message.content).toBeNull();
    expect(body.choices[0].message.tool_calls).toEqual([{ id: "call_x", type: "function", function: { name: "read_file", arguments: '{"path":' } }]);
  });

  it("asks for a Bearer key when one is configured", async () => {
    const keyed = await startLlmServer({ apiKey: "sk-right" });
    try {
      keyed.script("openai", { reply: "ok" });
      const send = (auth?: string) =>
        fetch(keyed.apiBase + "/chat/completions", { method: "POST", headers: { ...json, ...(auth ? { authorization: auth } : {}) }, body: "{}" });
      const none = await send();
      expect(none.status).toBe(401);
      expect(((await none.json()) as any).error.code).toBe("invalid_api_key");
      expect((await send("Bearer sk-wrong")).status).toBe(401);
      expect(keyed.remaining("openai")).toBe(1); // refused requests use no step
      expect((await send("Bearer sk-right")).status).toBe(200);
      expect(keyed.requests.map((r) => r.headers.authorization)).toEqual([undefined, "Bearer sk-wrong", "Bearer sk-right"]);
    } finally {
      await keyed.close();
    }
  });
});

describe("Anthropic messages", () => {
  it("requires x-api-key and anthropic-version", async () => {
    llm.script("anthropic", { reply: "hi" });
    const noKey = await post("/v1/messages", {}, { ...json, "anthropic-version": "2023-06-01" });
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toEqual({ type: "error", error: { type: "authentication_error", message: "x-api-key header is required" } });
    const noVersion = await post("/v1/messages", {}, { ...json, "x-api-key": "k" });
    expect(noVersion.status).toBe(400);
    expect(((await noVersion.json()) as any).error.type).toBe("invalid_request_error");
    expect(llm.remaining("anthropic")).toBe(1);
  });

  it("answers a whole message with text and tool_use blocks", async () => {
    llm.script("anthropic", { text: "Let me write it.", toolCalls: [{ name: "write_file", arguments: { path: "n.md" } }] });
    const body = (await (await post("/v1/messages", { model: "claude-x", max_tokens: 10, messages: [] }, anthropicHeaders)).json()) as any;
    expect(body).toMatchObject({ type: "message", role: "assistant", model: "claude-x", stop_reason: "tool_use", stop_sequence: null });
    expect(body.content[0]).toEqual({ type: "text", text: "Let me write it." });
    expect(body.content[1]).toMatchObject({ type: "tool_use", name: "write_file", input: { path: "n.md" } });
    expect(body.content[1].id).toMatch(/^toolu_/);
    expect(body.usage).toEqual({ input_tokens: expect.any(Number), output_tokens: expect.any(Number) });
  });

  it("streams the documented event sequence with text_delta and input_json_delta", async () => {
    llm.script("anthropic", { text: "Writing.", toolCalls: [{ name: "write_file", arguments: { path: "n.md", content: "body" } }], chunks: 2 });
    const r = await post("/v1/messages", { model: "c", stream: true, max_tokens: 10, messages: [] }, anthropicHeaders);
    expect(r.headers.get("content-type")).toBe("text/event-stream");
    const evs = events(await r.text());
    expect(evs.map((e) => e.event)).toEqual([
      "message_start", "ping",
      "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
      "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
      "message_delta", "message_stop",
    ]);
    const data = evs.map((e) => JSON.parse(e.data) as any);
    expect(data.every((d, i) => d.type === evs[i]!.event)).toBe(true);
    expect(data[0].message).toMatchObject({ type: "message", role: "assistant", content: [], stop_reason: null });
    expect(data[2].content_block).toEqual({ type: "text", text: "" });
    expect(data[3].delta.type + data[4].delta.type).toBe("text_deltatext_delta");
    expect(data[3].delta.text + data[4].delta.text).toBe("Writing.");
    expect(data[6]).toMatchObject({ index: 1, content_block: { type: "tool_use", name: "write_file", input: {} } });
    expect(data[7].delta.type).toBe("input_json_delta");
    expect(JSON.parse(data[7].delta.partial_json + data[8].delta.partial_json)).toEqual({ path: "n.md", content: "body" });
    expect(data[10].delta).toEqual({ stop_reason: "tool_use", stop_sequence: null });
  });
});

describe("failure steps", () => {
  it("sends a status with its headers for as many requests as `times`, then the next step", async () => {
    llm.script("openai", { status: 429, headers: { "retry-after": "1" }, times: 2 }, { reply: "done" });
    const a = await post("/v1/chat/completions", {});
    expect(a.status).toBe(429);
    expect(a.headers.get("retry-after")).toBe("1");
    expect(((await a.json()) as any).error.code).toBe("rate_limit_exceeded");
    expect((await post("/v1/chat/completions", {})).status).toBe(429);
    expect((await post("/v1/chat/completions", {})).status).toBe(200);
  });

  it("sends errors in each API's shape, and a given body verbatim", async () => {
    llm.script("anthropic", { status: 529 });
    llm.script("openai", { status: 404, body: "<html>not here</html>" });
    expect(((await (await post("/v1/messages", {}, anthropicHeaders)).json()) as any).error.type).toBe("overloaded_error");
    expect(await (await post("/v1/chat/completions", {})).text()).toBe("<html>not here</html>");
  });

  it("repeats a step forever with times: Infinity", async () => {
    llm.script("openai", { status: 500, times: Infinity });
    for (let i = 0; i < 5; i++) expect((await post("/v1/chat/completions", {})).status).toBe(500);
    expect(llm.remaining("openai")).toBe(1);
  });

  it("answers an unscripted chat request with 500 and lists it", async () => {
    const r = await post("/v1/chat/completions", { model: "m" });
    expect(r.status).toBe(500);
    expect(((await r.json()) as any).error.message).toMatch(/no scripted step left/);
    expect(llm.unscripted.map((u) => u.path)).toEqual(["/v1/chat/completions"]);
  });

  it("sends a malformed JSON body with status 200", async () => {
    llm.script("openai", { malformed: true });
    const r = await post("/v1/chat/completions", {});
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(text.length).toBeGreaterThan(0);
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
  });

  it("stalls after the headers", async () => {
    llm.script("openai", { stall: "headers" });
    const ctl = new AbortController();
    const r = await post("/v1/chat/completions", {}, json, ctl.signal);
    expect(r.status).toBe(200);
    const body = r.text();
    setTimeout(() => ctl.abort(), 200);
    await expect(body).rejects.toThrow(/abort/i);
  });

  it("stalls half-way through a stream", async () => {
    llm.script("openai", { stall: "midstream", reply: "abcdefgh", chunks: 8 });
    const ctl = new AbortController();
    const r = await post("/v1/chat/completions", { stream: true }, json, ctl.signal);
    const reader = r.body!.getReader();
    let seen = "";
    // The first half of the chunks arrives; then nothing: read until some text came, then time out.
    while (!seen.includes("data:")) seen += new TextDecoder().decode((await reader.read()).value);
    setTimeout(() => ctl.abort(), 200);
    await expect((async () => { for (;;) if ((await reader.read()).done) return; })()).rejects.toThrow(/abort/i);
  });

  it("closes the socket without an answer", async () => {
    llm.script("openai", { close: true });
    await expect(post("/v1/chat/completions", {})).rejects.toThrow(/fetch failed/);
    expect(llm.requests).toHaveLength(1);
  });

  it("gives a port where connections are refused", async () => {
    const port = await refusedPort();
    const err = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: "POST" }).catch((e: Error) => e);
    expect((err as Error & { cause?: { code?: string } }).cause?.code).toBe("ECONNREFUSED");
  });
});

describe("recording", () => {
  it("records method, path, lower-case headers and the parsed body", async () => {
    llm.script("openai", { reply: "x" });
    await post("/v1/chat/completions?x=1", { model: "m", stream: true, messages: [{ role: "user", content: "é" }] }, { ...json, Authorization: "Bearer sk-1" });
    const [r] = llm.requestsTo("openai");
    expect(r).toMatchObject({ method: "POST", path: "/v1/chat/completions", endpoint: "openai" });
    expect(r!.headers.authorization).toBe("Bearer sk-1");
    expect(r!.body).toEqual({ model: "m", stream: true, messages: [{ role: "user", content: "é" }] });
  });

  it("refuses a body that is not JSON with 400, and unknown paths with 404", async () => {
    const bad = await fetch(llm.apiBase + "/chat/completions", { method: "POST", headers: json, body: "{nope" });
    expect(bad.status).toBe(400);
    expect(llm.requests[0]!.raw).toBe("{nope");
    expect(llm.requests[0]!.body).toBeUndefined();
    expect((await post("/v1/completions", {})).status).toBe(404);
  });
});

describe("embeddings", () => {
  it("returns deterministic unit vectors, one per input, in OpenAI's list format", async () => {
    const r = (await (await post("/v1/embeddings", { model: "e", input: ["the cat sat", "the cat sat", "stock prices fell"] })).json()) as any;
    expect(r.object).toBe("list");
    expect(r.data.map((d: any) => [d.object, d.index, d.embedding.length])).toEqual([["embedding", 0, 384], ["embedding", 1, 384], ["embedding", 2, 384]]);
    expect(r.data[0].embedding).toEqual(r.data[1].embedding);
    expect(Math.hypot(...r.data[2].embedding)).toBeCloseTo(1, 9);
    expect(r.data[0].embedding).toEqual(embed("the cat sat", 384));
  });

  it("puts texts that share words nearer than texts that do not", () => {
    const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
    const q = embed("where did the cat sleep", 384);
    expect(dot(q, embed("the cat sleeps on the mat", 384))).toBeGreaterThan(dot(q, embed("interest rates rose again", 384)));
  });

  it("honours dimensions and base64 encoding", async () => {
    const r = (await (await post("/v1/embeddings", { input: "abc", dimensions: 8, encoding_format: "base64" })).json()) as any;
    const v = new Float32Array(new Uint8Array(Buffer.from(r.data[0].embedding, "base64")).buffer);
    expect([...v]).toEqual([...new Float32Array(embed("abc", 8))]);
  });

  it("plays scripted failures, and refuses input that is not text", async () => {
    llm.script("embeddings", { status: 429, headers: { "retry-after": "1" } });
    expect((await post("/v1/embeddings", { input: "a" })).status).toBe(429);
    expect((await post("/v1/embeddings", { input: [1, 2] })).status).toBe(400);
  });
});

describe("splitText", () => {
  it("splits into n nearly equal pieces without breaking surrogate pairs", () => {
    expect(splitText("abcdefg", 3)).toEqual(["ab", "cd", "efg"]);
    expect(splitText("a😀b", 3)).toEqual(["a", "😀", "b"]);
    expect(splitText("ab", 5)).toEqual(["a", "b"]);
    expect(splitText("", 3)).toEqual([""]);
  });
});
