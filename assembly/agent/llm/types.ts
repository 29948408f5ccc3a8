// The agent's view of a conversation, independent of the provider's wire format.

import { JValue } from "../../json";

/** A tool call the model proposed: `arguments` is the JSON text the model wrote (maybe invalid). */
export class ToolCall {
  constructor(public id: string, public name: string, public arguments: string) {}
}

/**
 * One message: role "system", "user", "assistant" (text and/or tool calls) or "tool" (the
 * result of the call `toolCallId`, named `toolName`).
 */
export class ChatMessage {
  toolCalls: ToolCall[] = [];
  toolCallId: string = "";
  toolName: string = "";
  constructor(public role: string, public content: string) {}

  /** A tool-result message answering `call`. */
  static toolResult(call: ToolCall, content: string): ChatMessage {
    let m = new ChatMessage("tool", content);
    m.toolCallId = call.id;
    m.toolName = call.name;
    return m;
  }
}

/** What one model call produced: text, tool calls, and why it stopped. */
export class Completion {
  text: string = "";
  toolCalls: ToolCall[] = [];
  stopReason: string = "";
  /** The text was already written to stdout as it arrived. */
  streamed: bool = false;
}

/**
 * A tool offered to the model: its name, what it does (for the model), and the JSON Schema
 * (draft 2020-12 subset) of its arguments object. tools.ts lists the agent's tools.
 */
export class ToolSpec {
  constructor(public name: string, public description: string, public parameters: JValue) {}
}
