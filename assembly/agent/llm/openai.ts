// OpenAI-compatible Chat Completions (POST {apiBase}/chat/completions): the request body, the
// JSON answer, and the streamed answer (SSE `data:` chunks of `chat.completion.chunk`, then
// `data: [DONE]`). Spoken by OpenAI, OpenRouter, Ollama, llama.cpp server, vLLM and others.
// Reference: platform.openai.com/docs/api-reference/chat.

import { JValue, J_ARR, J_OBJ, J_STR, parseJson, stringify } from "../../json";
import { ChatMessage, Completion, ToolCall, ToolSpec } from "./types";
import { Shape } from "./shape";

/** The request body: model, messages (system first), tools as functions, limits, stream. */
export function openaiBody(model: string, system: string, msgs: ChatMessage[], tools: ToolSpec[], maxTokens: i32, temperature: f64, stream: bool): string {
  let messages = JValue.array();
  if (system.length > 0) messages.push(JValue.object().set("role", JValue.string("system")).set("content", JValue.string(system)));
  for (let i = 0; i < msgs.length; i++) {
    let m = msgs[i];
    let o = JValue.object().set("role", JValue.string(m.role));
    if (m.role == "tool") {
      o.set("tool_call_id", JValue.string(m.toolCallId)).set("content", JValue.string(m.content));
    } else if (m.toolCalls.length > 0) {
      o.set("content", m.content.length > 0 ? JValue.string(m.content) : JValue.nul());
      let calls = JValue.array();
      for (let j = 0; j < m.toolCalls.length; j++) {
        let c = m.toolCalls[j];
        calls.push(JValue.object()
          .set("id", JValue.string(c.id))
          .set("type", JValue.string("function"))
          .set("function", JValue.object().set("name", JValue.string(c.name)).set("arguments", JValue.string(c.arguments))));
      }
      o.set("tool_calls", calls);
    } else {
      o.set("content", JValue.string(m.content));
    }
    messages.push(o);
  }
  let body = JValue.object()
    .set("model", JValue.string(model))
    .set("messages", messages)
    .set("max_tokens", JValue.number(maxTokens))
    .set("temperature", JValue.number(temperature));
  if (tools.length > 0) {
    let list = JValue.array();
    for (let i = 0; i < tools.length; i++) {
      let t = tools[i];
      list.push(JValue.object().set("type", JValue.string("function")).set("function", JValue.object()
        .set("name", JValue.string(t.name))
        .set("description", JValue.string(t.description))
        .set("parameters", t.parameters)));
    }
    body.set("tools", list);
  }
  if (stream) body.set("stream", JValue.boolean(true));
  return stringify(body);
}

/** Reads a non-streamed answer `{choices: [{message: {content, tool_calls}, finish_reason}]}`. */
export function openaiAnswer(v: JValue): Completion | null {
  let c = new Completion();
  let choices = v.get("choices");
  if (choices === null || choices.kind != J_ARR || choices.items.length == 0) return Shape.fail<Completion>("no choices[0]");
  let choice = choices.items[0];
  let msg = choice.get("message");
  if (msg === null || msg.kind != J_OBJ) return Shape.fail<Completion>("no choices[0].message");
  let content = msg.get("content");
  if (content !== null && content.kind == J_STR) c.text = content.s;
  c.stopReason = choice.str("finish_reason");
  let calls = msg.get("tool_calls");
  if (calls !== null && calls.kind == J_ARR) {
    for (let i = 0; i < calls.items.length; i++) {
      let f = calls.items[i].get("function");
      if (f === null || f.kind != J_OBJ) return Shape.fail<Completion>("tool_calls[" + i.toString() + "] has no function");
      let args = f.get("arguments");
      let text = args === null ? "{}" : args.kind == J_STR ? args.s : stringify(args);
      c.toolCalls.push(new ToolCall(calls.items[i].str("id", "call_" + i.toString()), f.str("name"), text));
    }
  }
  return c;
}

/** Folds streamed chunks into a Completion; text deltas are also handed back for printing. */
export class OpenAiStream {
  out: Completion = new Completion();
  done: bool = false;
  private ids: string[] = [];
  private names: string[] = [];
  private args: string[] = [];

  /** Takes one SSE `data` payload; returns its text delta, or null when it is not a valid chunk. */
  feed(data: string): string | null {
    if (data == "[DONE]") {
      this.done = true;
      return "";
    }
    let v = parseJson(data);
    if (v === null || v.kind != J_OBJ) return Shape.fail<string>("a stream chunk is not a JSON object");
    let err = v.get("error");
    if (err !== null) return Shape.fail<string>("the stream reported an error: " + errorText(err));
    let choices = v.get("choices");
    if (choices === null || choices.kind != J_ARR || choices.items.length == 0) return "";
    let choice = choices.items[0];
    let fin = choice.get("finish_reason");
    if (fin !== null && fin.kind == J_STR) this.out.stopReason = fin.s;
    let delta = choice.get("delta");
    if (delta === null || delta.kind != J_OBJ) return "";
    let text = "";
    let content = delta.get("content");
    if (content !== null && content.kind == J_STR) text = content.s;
    this.out.text += text;
    let calls = delta.get("tool_calls");
    if (calls !== null && calls.kind == J_ARR) {
      for (let i = 0; i < calls.items.length; i++) {
        let c = calls.items[i];
        let index = <i32>c.num("index", <f64>i);
        if (index < 0 || index > 127) return Shape.fail<string>("tool call index " + index.toString() + " out of range");
        while (this.ids.length <= index) {
          this.ids.push("");
          this.names.push("");
          this.args.push("");
        }
        let id = c.str("id");
        if (id.length > 0) this.ids[index] = id;
        let f = c.get("function");
        if (f !== null && f.kind == J_OBJ) {
          this.names[index] += f.str("name");
          this.args[index] += f.str("arguments");
        }
      }
    }
    return text;
  }

  /** The completion once the stream ended. */
  finish(): Completion {
    for (let i = 0; i < this.ids.length; i++) {
      if (this.names[i].length == 0) continue;
      let id = this.ids[i].length > 0 ? this.ids[i] : "call_" + i.toString();
      this.out.toolCalls.push(new ToolCall(id, this.names[i], this.args[i].length > 0 ? this.args[i] : "{}"));
    }
    return this.out;
  }
}

/** The message of a provider error object (`{message, type}` or a string). */
export function errorText(err: JValue): string {
  if (err.kind == J_STR) return err.s;
  let m = err.str("message");
  let t = err.str("type");
  return t.length > 0 && m.length > 0 ? t + ": " + m : m.length > 0 ? m : stringify(err);
}
