// The tools the model may call, every call governed by the contract and audited
// (docs/agent-tools.md):
//
//   callTool(name, argsJson)
//     → malformed (unknown tool, arguments not a JSON object, wrong types, too large, a path
//       leaving the workspace): audited as "invalid", the problem goes back as the result
//     → the CLP intent `tool` {tool, args, session, facts…} (govern.ts) → commit or denial
//     → one audit entry (audit.ts) → the tool runs only when committed; a tool that then
//       fails is audited again ("error").
//
// Nothing here traps on what the model sends: every problem becomes a result it can read.

import { ToolSpec } from "./llm/types";
import { J_OBJ, parseJson, JsonError } from "../json";
import { Tool, Call, ToolResult, kindName } from "./tools/tool";
import { ReadFile, WriteFile, ListDirectory } from "./tools/files";
import { MemoryWrite, MemorySearch } from "./tools/memory";
import { ClaspSet, ClaspGet, ClaspPublish } from "./tools/clasp";
import { Governor } from "./govern";
import { Audit, AuditEntry, summarise, summariseText } from "./audit";
import { utf8 } from "./clasp";

export { ToolResult } from "./tools/tool";

/** Arguments longer than this (UTF-8 bytes of their JSON) are refused unread: 8 MiB. */
export const MAX_ARGS: i32 = 8 << 20;

export { ToolSpec };

/** The registry and the session the calls belong to. */
export class Tools {
  /** The chat session's key, recorded in the audit and shown to the contract (`payload.session`). */
  static session: string = "";
  static list: Tool[] = [
    new ReadFile(), new WriteFile(), new ListDirectory(),
    new MemoryWrite(), new MemorySearch(),
    new ClaspSet(), new ClaspGet(), new ClaspPublish(),
  ];

  /** The tool named `name`, or null. */
  static find(name: string): Tool | null {
    for (let i = 0; i < Tools.list.length; i++) if (Tools.list[i].name == name) return Tools.list[i];
    return null;
  }
}

/** The tools offered to the model. */
export function toolSpecs(): ToolSpec[] {
  let out: ToolSpec[] = [];
  for (let i = 0; i < Tools.list.length; i++) {
    let t = Tools.list[i];
    out.push(new ToolSpec(t.name, t.description, t.schema()));
  }
  return out;
}

/**
 * Opens what every call needs: the audit log's head and the contract with its state. Call it
 * before a chat starts, so that a broken contract.json stops the agent with its error (exit 1)
 * rather than refusing every call. Returns the error text, or null when ready.
 */
export function openTools(): string | null {
  if (!Audit.open()) return Audit.error;
  if (!Governor.open()) return Governor.error;
  return null;
}

/**
 * Runs the tool call `name(argsJson)` the model proposed, through the contract and the audit
 * (see the file comment). Never traps; every outcome is a ToolResult for the model.
 */
export function callTool(name: string, argsJson: string): ToolResult {
  let e = new AuditEntry();
  e.time = <f64>Date.now();
  e.session = Tools.session;
  e.tool = name;
  if (!Audit.open()) return ToolResult.fail("not run: the audit log is unavailable: " + Audit.error);
  if (!Governor.open()) {
    e.args = summariseText(argsJson);
    return record(e, "error", "the contract is unavailable: " + Governor.error, ToolResult.fail("not run: " + Governor.error));
  }
  let tool = Tools.find(name);
  let size = argsJson.length <= MAX_ARGS / 3 ? 0 : String.UTF8.byteLength(argsJson);
  if (size > MAX_ARGS) {
    e.args = summariseText(argsJson);
    return invalid(e, "the arguments are " + size.toString() + " bytes, over the " + MAX_ARGS.toString() + "-byte limit");
  }
  let j = parseJson(argsJson.trim().length == 0 ? "{}" : argsJson);
  if (j === null || j.kind != J_OBJ) {
    e.args = summariseText(argsJson);
    if (tool === null) return invalid(e, unknown(name));
    if (j === null) return invalid(e, "the arguments are not JSON (" + JsonError.reason + " at offset " + JsonError.at.toString() + "); send a JSON object");
    return invalid(e, "the arguments must be a JSON object, got " + kindName(j.kind));
  }
  e.args = summarise(j);
  if (tool === null) return invalid(e, unknown(name));
  let problem = tool.check(j);
  let c = new Call();
  c.args = j;
  if (problem === null) problem = tool.prepare(c);
  if (problem !== null) return invalid(e, problem!);
  let d = Governor.decide(c.payload(name, Tools.session, e.args), e.time);
  if (!d.committed) {
    e.guard = d.guard;
    let r = ToolResult.fail(d.failed ? "not run: " + d.reason : denial(d.guard, d.reason));
    r.denied = !d.failed;
    r.guard = d.guard;
    return record(e, d.failed ? "error" : "deny", d.reason, r);
  }
  e.transition = d.transition;
  e.event = d.event;
  e.decision = "commit";
  if (!Audit.append(e)) return ToolResult.fail("not run: the audit log cannot be written: " + Audit.error);
  let r = tool.run(c);
  if (r.error) {
    let f = new AuditEntry();
    f.time = <f64>Date.now();
    f.session = e.session;
    f.tool = name;
    f.args = e.args;
    record(f, "error", r.content, r);
  }
  return r;
}

/** The words for a refusal by the contract. */
function denial(guard: string, reason: string): string {
  if (guard.length == 0) return "denied by the contract: " + reason;
  let why = Governor.descriptions.has(guard) ? Governor.descriptions.get(guard) : reason;
  return "denied by guard \"" + guard + "\": " + why;
}

function unknown(name: string): string {
  let names: string[] = [];
  for (let i = 0; i < Tools.list.length; i++) names.push(Tools.list[i].name);
  return "unknown tool \"" + name + "\" (the tools are " + names.join(", ") + ")";
}

/** Audits a call refused before the contract and returns the problem as its result. */
function invalid(e: AuditEntry, problem: string): ToolResult {
  return record(e, "invalid", problem, ToolResult.fail("invalid call: " + problem));
}

/** Appends `e` with `decision` and `reason`; returns `r`, or a failure when the audit cannot be written. */
function record(e: AuditEntry, decision: string, reason: string, r: ToolResult): ToolResult {
  e.decision = decision;
  e.reason = reason;
  if (!Audit.append(e)) return ToolResult.fail(r.content + " (and the audit log cannot be written: " + Audit.error + ")");
  return r;
}
