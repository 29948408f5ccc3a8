// Anthropic Messages (POST {apiBase}/messages, headers `x-api-key` and `anthropic-version`):
// the request body, the JSON answer (`content` blocks of type text / tool_use) and the streamed
// answer (SSE events message_start, content_block_start/delta/stop, message_delta,
// message_stop, ping, error). Reference: docs.anthropic.com/en/api/messages and
// docs.anthropic.com/en/api/messages-streaming.

import { JValue, J_ARR, J_OBJ, J_STR, parseJson, stringify } from "../../json";
import { ChatMessage, Completion, ToolCall, ToolSpec } from "./types";
import { Shape } from "./shape";
import { errorText } from "./openai";

/** The `anthropic-version` header value sent with every request. */
export const ANTHROPIC_VERSION = "2023-06-01";

/** Tool-call arguments as the `input` object Anthropic wants (invalid JSON becomes {}). */
function inputOf(args: string): JValue {
  let v = parseJson(args);
  return v !== null && v.kind == J_OBJ ? v : JValue.object();
}

/**
 * The request body. Tool results become `tool_result` blocks of a user message (consecutive
 * results share one message, as the API requires alternating roles); assistant tool calls
 * become `tool_use` blocks.
 */
export function anthropicBody(model: string, system: string, msgs: ChatMessage[], tools: ToolSpec[], maxTokens: i32, temperature: f64, stream: bool): string {
  let messages = JValue.array();
  let pending: JValue | null = null; // the user message collecting tool results
  for (let i = 0; i < msgs.length; i++) {
    let m = msgs[i];
    if (m.role == "tool") {
      if (pending === null) {
        pending = JValue.object().set("role", JValue.string("user")).set("content", JValue.array());
        messages.push(pending!);
      }
      pending!.get("content")!.push(JValue.object()
        .set("type", JValue.string("tool_result"))
        .set("tool_use_id", JValue.string(m.toolCallId))
        .set("content", JValue.string(m.content)));
      continue;
    }
    pending = null;
    if (m.role == "system") continue;
    if (m.toolCalls.length > 0) {
      let blocks = JValue.array();
      if (m.content.length > 0) blocks.push(JValue.object().set("type", JValue.string("text")).set("text", JValue.string(m.content)));
      for (let j = 0; j < m.toolCalls.length; j++) {
        let c = m.toolCalls[j];
        blocks.push(JValue.object()
          .set("type", JValue.string("tool_use"))
          .set("id", JValue.string(c.id))
          .set("name", JValue.string(c.name))
          .set("input", inputOf(c.arguments)));
      }
      messages.push(JValue.object().set("role", JValue.string("assistant")).set("content", blocks));
    } else {
      messages.push(JValue.object().set("role", JValue.string(m.role == "assistant" ? "assistant" : "user")).set("content", JValue.string(m.content)));
    }
  }
  let body = JValue.object()
    .set("model", JValue.string(model))
    .set("max_tokens", JValue.number(maxTokens))
    .set("temperature", JValue.number(temperature));
  if (system.length > 0) body.set("system", JValue.string(system));
  body.set("messages", messages);
  if (tools.length > 0) {
    let list = JValue.array();
    for (let i = 0; i < tools.length; i++) {
      let t = tools[i];
      list.push(JValue.object()
        .set("name", JValue.string(t.name))
        .set("description", JValue.string(t.description))
        .set("input_schema", t.parameters));
    }
    body.set("tools", list);
  }
  if (stream) body.set("stream", JValue.boolean(true));
  return stringify(body);
}

/** Reads a non-streamed answer `{content: [{type: "text", text} | {type: "tool_use", id, name, input}], stop_reason}`. */
export function anthropicAnswer(v: JValue): Completion | null {
  let content = v.get("content");
  if (content === null || content.kind != J_ARR) return Shape.fail<Completion>("no content array");
  let c = new Completion();
  c.stopReason = v.str("stop_reason");
  for (let i = 0; i < content.items.length; i++) {
    let b = content.items[i];
    let type = b.str("type");
    if (type == "text") c.text += b.str("text");
    else if (type == "tool_use") {
      let input = b.get("input");
      c.toolCalls.push(new ToolCall(b.str("id", "toolu_" + i.toString()), b.str("name"), input === null ? "{}" : stringify(input)));
    }
  }
  return c;
}

/** Folds streamed events into a Completion; text deltas are handed back for printing. */
export class AnthropicStream {
  out: Completion = new Completion();
  done: bool = false;
  private types: string[] = [];
  private ids: string[] = [];
  private names: string[] = [];
  private json: string[] = [];

  /** Takes one SSE event (`event` name, `data` JSON); returns its text delta, or null when malformed. */
  feed(event: string, data: string): string | null {
    if (event == "ping") return "";
    let v = parseJson(data);
    if (v === null || v.kind != J_OBJ) return Shape.fail<string>("a stream event is not a JSON object");
    let type = v.str("type", event);
    if (type == "error") {
      let e = v.get("error");
      return Shape.fail<string>("the stream reported an error: " + (e === null ? data : errorText(e)));
    }
    if (type == "message_stop") {
      this.done = true;
      return "";
    }
    if (type == "message_delta") {
      let d = v.get("delta");
      if (d !== null && d.kind == J_OBJ) {
        let r = d.str("stop_reason");
        if (r.length > 0) this.out.stopReason = r;
      }
      return "";
    }
    let index = <i32>v.num("index", -1);
    if (type == "content_block_start") {
      if (index < 0 || index > 255) return Shape.fail<string>("content_block_start without a valid index");
      while (this.types.length <= index) {
        this.types.push("");
        this.ids.push("");
        this.names.push("");
        this.json.push("");
      }
      let b = v.get("content_block");
      if (b === null || b.kind != J_OBJ) return Shape.fail<string>("content_block_start without content_block");
      this.types[index] = b.str("type");
      this.ids[index] = b.str("id");
      this.names[index] = b.str("name");
      let text = b.str("text");
      this.out.text += text;
      return text;
    }
    if (type == "content_block_delta") {
      if (index < 0 || index >= this.types.length) return Shape.fail<string>("content_block_delta for a block never started");
      let d = v.get("delta");
      if (d === null || d.kind != J_OBJ) return Shape.fail<string>("content_block_delta without delta");
      let dt = d.str("type");
      if (dt == "text_delta") {
        let text = d.str("text");
        this.out.text += text;
        return text;
      }
      if (dt == "input_json_delta") this.json[index] += d.str("partial_json");
      return "";
    }
    return ""; // message_start, content_block_stop and event types added later
  }

  /** The completion once the stream ended. */
  finish(): Completion {
    for (let i = 0; i < this.types.length; i++) {
      if (this.types[i] != "tool_use") continue;
      let args = this.json[i].length > 0 ? this.json[i] : "{}";
      this.out.toolCalls.push(new ToolCall(this.ids[i], this.names[i], args));
    }
    return this.out;
  }
}
