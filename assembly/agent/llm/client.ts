// One model call over HTTP: builds the provider's request, sends it through the host's client
// (`Http.client`: wasi:http, or HTTP/1.1 over WAMR sockets), retries 429 and 5xx answers with
// backoff honouring Retry-After (RFC 9110 §10.2.3), and reads the answer whole or as an SSE
// stream, printing text as it arrives. Every failure becomes one line in `LlmError.message`.

import { JValue, J_OBJ, parseJsonBytes, JsonError } from "../../json";
import { Http, HttpRequest, HttpResponse, HE_REFUSED, HE_TIMEOUT, HE_DNS, HE_UNSUPPORTED } from "../host/http";
import { errLine, out } from "../host/io";
import { sleepMs } from "../host/time";
import { SseParser } from "../sse";
import { Config, Route, API_ANTHROPIC } from "../config";
import { ChatMessage, Completion, ToolSpec } from "./types";
import { Shape } from "./shape";
import { openaiBody, openaiAnswer, OpenAiStream, errorText } from "./openai";
import { anthropicBody, anthropicAnswer, AnthropicStream, ANTHROPIC_VERSION } from "./anthropic";

/** Why the last `complete` returned null: one line for a person. */
export class LlmError {
  static message: string = "";
}

/** Upper bound of one backoff wait, whatever Retry-After asks (ms). */
const MAX_WAIT_MS: i32 = 60000;

function fail(message: string): Completion | null {
  LlmError.message = message;
  return null;
}

/** Retry-After as milliseconds (delay-seconds form), or -1 when absent or not a number of seconds. */
function retryAfterMs(r: HttpResponse): i32 {
  let v = r.header("retry-after");
  if (v === null) return -1;
  let s = v!.trim();
  if (s.length == 0 || s.length > 7) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n * 1000;
}

/** Exponential backoff with jitter: 500 ms · 2^attempt, ±25 %, capped at MAX_WAIT_MS. */
function backoffMs(attempt: i32): i32 {
  let base = 500.0 * Math.pow(2, <f64>attempt);
  let jitter = base * 0.25 * (Math.random() * 2 - 1);
  return <i32>Math.min(<f64>MAX_WAIT_MS, base + jitter);
}

/** The provider's error text from an error body (`{error: {message}}` or `{error: "…"}`), or "". */
function bodyError(r: HttpResponse): string {
  let b = r.readAll(1 << 20);
  if (b === null || b.byteLength == 0) return "";
  let v = parseJsonBytes(changetype<usize>(b), b.byteLength);
  if (v !== null && v.kind == J_OBJ) {
    let e = v.get("error");
    if (e !== null) return errorText(e);
    let m = v.str("message");
    if (m.length > 0) return m;
  }
  let text = String.UTF8.decode(b!);
  return text.length > 200 ? text.substring(0, 200) + "…" : text;
}

/** A person's words for an HTTP status the agent cannot go on from. */
function statusMessage(status: i32, route: Route, url: string, detail: string): string {
  let who = route.provider.name;
  let tail = detail.length > 0 ? ": " + detail : "";
  if (status == 401 || status == 403) {
    let env = who == "openai" ? " or OPENAI_API_KEY" : who == "anthropic" ? " or ANTHROPIC_API_KEY" : "";
    return who + " refused the credentials (HTTP " + status.toString() + ") at " + url + ": check providers." + who + ".apiKey" + env + tail;
  }
  if (status == 404) return who + " has no such endpoint or model (HTTP 404) at " + url + ": check providers." + who + ".apiBase and the model \"" + route.model + "\"" + tail;
  if (status == 429) return who + " is rate limiting (HTTP 429) and retries ran out" + tail;
  if (status >= 500) return who + " failed (HTTP " + status.toString() + ") and retries ran out" + tail;
  return who + " answered HTTP " + status.toString() + " at " + url + tail;
}

/** A person's words for a transport failure. */
function transportMessage(kind: i32, message: string, url: string): string {
  if (kind == HE_REFUSED) return "cannot connect to " + url + " (connection refused): is the server running? (" + message + ")";
  if (kind == HE_TIMEOUT) return "no answer from " + url + " in time (" + message + "); raise agents.defaults.requestTimeoutMs if the model is slow";
  if (kind == HE_DNS) return "cannot resolve the host of " + url + " (" + message + ")";
  if (kind == HE_UNSUPPORTED) return message;
  return "request to " + url + " failed: " + message;
}

/**
 * A POST of JSON `body` to `url` with the provider's credentials and extra headers (Bearer
 * token, or Anthropic's `x-api-key` and `anthropic-version`).
 */
export function providerRequest(cfg: Config, route: Route, url: string, body: string, accept: string): HttpRequest {
  let req = new HttpRequest();
  req.method = "POST";
  req.url = url;
  req.body = String.UTF8.encode(body);
  req.timeoutMs = <u32>cfg.requestTimeoutMs;
  req.idleMs = <u32>cfg.requestTimeoutMs;
  req.header("content-type", "application/json");
  req.header("accept", accept);
  let key = route.provider.apiKey;
  if (route.provider.api == API_ANTHROPIC) {
    if (key.length > 0) req.header("x-api-key", key);
    req.header("anthropic-version", ANTHROPIC_VERSION);
  } else if (key.length > 0) {
    req.header("authorization", "Bearer " + key);
  }
  let extra = route.provider.extraHeaders;
  for (let i = 0; i + 1 < extra.length; i += 2) req.header(extra[i].toLowerCase(), extra[i + 1]);
  return req;
}

/**
 * Sends `req`, retrying answers 429 and 5xx up to `cfg.maxRetries` times (waiting Retry-After
 * seconds when given, else exponential backoff). Returns the 2xx response, or null with
 * LlmError.message set (the last status and the provider's error text, or the transport failure).
 */
export function sendWithRetries(cfg: Config, route: Route, req: HttpRequest): HttpResponse | null {
  for (let attempt = 0; ; attempt++) {
    let r = Http.client.send(req);
    if (r === null) {
      let e = Http.error!;
      LlmError.message = transportMessage(e.kind, e.message, req.url);
      return null;
    }
    let status = r.status;
    if (status >= 200 && status < 300) return r;
    let retry = (status == 429 || status >= 500) && attempt < cfg.maxRetries;
    let wait = retry ? retryAfterMs(r) : -1;
    let detail = bodyError(r);
    r.close();
    if (!retry) {
      LlmError.message = statusMessage(status, route, req.url, detail);
      return null;
    }
    if (wait < 0) wait = backoffMs(attempt);
    if (wait > MAX_WAIT_MS) wait = MAX_WAIT_MS;
    errLine("clawft: " + route.provider.name + " answered HTTP " + status.toString() + "; retry " + (attempt + 1).toString() + " of " + cfg.maxRetries.toString() + " in " + wait.toString() + " ms");
    sleepMs(wait);
  }
  return null; // not reached: asc wants a return after an endless loop
}

/** Reads a whole JSON object answer; null with LlmError set when it is not one. */
export function readJson(r: HttpResponse, url: string): JValue | null {
  let b = r.readAll();
  if (b === null) {
    let e = r.error!;
    LlmError.message = transportMessage(e.kind, e.message, url);
    return null;
  }
  let v = parseJsonBytes(changetype<usize>(b), b.byteLength);
  if (v === null) {
    LlmError.message = "the answer from " + url + " is not the expected JSON (byte " + JsonError.at.toString() + ": " + JsonError.reason + ")";
    return null;
  }
  if (v.kind != J_OBJ) {
    LlmError.message = "the answer from " + url + " is not the expected JSON (not an object)";
    return null;
  }
  return v;
}

/**
 * Asks the model for the next step of `msgs` with `tools` offered. With `stream`, asks for
 * SSE and, when `print`, writes text to stdout as it arrives. Returns the completion, or null
 * with LlmError.message set (HTTP status after retries, transport failure, or an answer that
 * is not the JSON or SSE the API documents).
 */
export function complete(cfg: Config, route: Route, msgs: ChatMessage[], tools: ToolSpec[], stream: bool, print: bool): Completion | null {
  let anthropic = route.provider.api == API_ANTHROPIC;
  let url = route.provider.apiBase + (anthropic ? "/messages" : "/chat/completions");
  let body = anthropic
    ? anthropicBody(route.model, cfg.systemPrompt, msgs, tools, cfg.maxTokens, cfg.temperature, stream)
    : openaiBody(route.model, cfg.systemPrompt, msgs, tools, cfg.maxTokens, cfg.temperature, stream);
  let r = sendWithRetries(cfg, route, providerRequest(cfg, route, url, body, stream ? "text/event-stream" : "application/json"));
  if (r === null) return null;
  let c: Completion | null;
  if (stream && isEventStream(r)) c = readStream(r, anthropic, print, url);
  else {
    let v = readJson(r, url);
    c = v === null ? null : anthropic ? anthropicAnswer(v) : openaiAnswer(v);
    if (v !== null && c === null) LlmError.message = "the answer from " + url + " is not the expected JSON (" + Shape.problem + ")";
  }
  r.close();
  return c;
}

/** True when the response says it is an SSE stream (some servers ignore `stream: true`). */
function isEventStream(r: HttpResponse): bool {
  let t = r.header("content-type");
  return t !== null && t!.toLowerCase().indexOf("text/event-stream") >= 0;
}

function readStream(r: HttpResponse, anthropic: bool, print: bool, url: string): Completion | null {
  let sse = new SseParser();
  let oa = new OpenAiStream();
  let an = new AnthropicStream();
  let printed = false;
  while (true) {
    let chunk = r.read();
    let events = chunk !== null ? sse.feed(chunk) : sse.end();
    if (sse.error.length > 0) return fail("the stream from " + url + " is not valid SSE: " + sse.error);
    for (let i = 0; i < events.length; i++) {
      let ev = events[i];
      let text = anthropic ? an.feed(ev.event, ev.data) : oa.feed(ev.data);
      if (text === null) return fail("the stream from " + url + " is not the expected JSON (" + Shape.problem + ")");
      if (print && text.length > 0) {
        out(text);
        printed = true;
      }
    }
    if (chunk === null) break;
    if (anthropic ? an.done : oa.done) break;
  }
  if (print && printed) out("\n");
  if (r.error !== null) {
    let e = r.error!;
    return fail((printed ? "the stream broke off: " : "") + transportMessage(e.kind, e.message, url));
  }
  if (!(anthropic ? an.done : oa.done)) return fail("the stream from " + url + " ended before its last event (" + (anthropic ? "message_stop" : "data: [DONE]") + ")");
  let c = anthropic ? an.finish() : oa.finish();
  c.streamed = printed;
  return c;
}
