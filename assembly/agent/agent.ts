// The agent loop of `clawft.wasm chat`: one turn asks the model, runs the tool calls it
// proposes through the contract (tools.ts: each call is a CLP intent that commits or is
// denied), sends the results back, and repeats until the model answers without tool calls or
// `maxToolIterations` rounds have run. The session file keeps the user's and the model's
// final words (session.ts).

import { Config, ConfigError, resolveModel, Route } from "./config";
import { Session } from "./session";
import { complete, LlmError } from "./llm/client";
import { ChatMessage, ToolSpec } from "./llm/types";
import { toolSpecs, callTool, openTools, Tools } from "./tools";
import { errLine, outLine, Stdin } from "./host/io";
import { EXIT_OK, fail, usage } from "./exit";

/** The session key when --session is not given (the native CLI's default for the terminal). */
export const DEFAULT_SESSION = "cli:default";

/** Options of one `chat` run. */
class ChatOptions {
  session: string = DEFAULT_SESSION;
  model: string = "";
  stream: bool = true;
  message: string = "";
  hasMessage: bool = false;
}

/**
 * Runs one turn: `text` from the user, then model calls and governed tool calls until a final
 * answer. Streams the answer to stdout (or prints it whole). Returns the exit code.
 */
function turn(cfg: Config, route: Route, session: Session, tools: ToolSpec[], text: string, stream: bool): i32 {
  let msgs: ChatMessage[] = [];
  for (let i = 0; i < session.messages.length; i++) {
    let m = session.messages[i];
    if (m.role == "user" || m.role == "assistant") msgs.push(new ChatMessage(m.role, m.content));
  }
  msgs.push(new ChatMessage("user", text));
  if (!session.append("user", text)) return fail("cannot write " + session.file);
  for (let round = 0; round <= cfg.maxToolIterations; round++) {
    let offer = round < cfg.maxToolIterations ? tools : [];
    let c = complete(cfg, route, msgs, offer, stream, true);
    if (c === null) return fail(LlmError.message);
    if (c.toolCalls.length == 0) {
      if (!c.streamed && c.text.length > 0) outLine(c.text);
      if (!session.append("assistant", c.text)) return fail("cannot write " + session.file);
      return EXIT_OK;
    }
    let m = new ChatMessage("assistant", c.text);
    m.toolCalls = c.toolCalls;
    msgs.push(m);
    for (let i = 0; i < c.toolCalls.length; i++) {
      let call = c.toolCalls[i];
      let r = callTool(call.name, call.arguments);
      if (r.denied) errLine("clawft: " + call.name + " denied by guard \"" + r.guard + "\"");
      msgs.push(ChatMessage.toolResult(call, r.content));
    }
  }
  return fail("no final answer after maxToolIterations (" + cfg.maxToolIterations.toString() + ") rounds of tool calls");
}

/** `clawft.wasm chat [--session KEY] [--model PROVIDER/MODEL] [--no-stream] [MESSAGE]`. */
export function chatCommand(args: string[], cfg: Config): i32 {
  let o = new ChatOptions();
  let words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    let a = args[i];
    if (a == "--session" || a == "--model") {
      if (i + 1 >= args.length) return usage(a + " needs a value");
      if (a == "--session") o.session = args[++i];
      else o.model = args[++i];
    } else if (a == "--no-stream") o.stream = false;
    else if (a == "--") {
      for (let j = i + 1; j < args.length; j++) words.push(args[j]);
      break;
    } else if (a.startsWith("--")) return usage("chat: unknown option " + a);
    else words.push(a);
  }
  if (o.session.length == 0) return usage("--session needs a non-empty key");
  if (words.length > 0) {
    o.message = words.join(" ");
    o.hasMessage = true;
  }
  if (o.model.length > 0) {
    if (o.model.indexOf("/") <= 0) return usage("--model expects PROVIDER/MODEL, got \"" + o.model + "\"");
    cfg.model = o.model;
  }
  if (!cfg.stream) o.stream = false;
  let route = resolveModel(cfg, cfg.model);
  if (route === null) return fail(ConfigError.message);
  let session = Session.open(o.session);
  if (session === null) return fail(Session.error);
  Tools.session = o.session;
  let toolsError = openTools();
  if (toolsError !== null) return fail(toolsError!);
  let tools = toolSpecs();
  if (o.hasMessage) return turn(cfg, route, session, tools, o.message, o.stream);
  while (true) {
    let line = Stdin.line();
    if (line === null) return EXIT_OK;
    if (line.trim().length == 0) continue;
    let code = turn(cfg, route, session, tools, line, o.stream);
    if (code != EXIT_OK) return code;
    __collect();
  }
}
