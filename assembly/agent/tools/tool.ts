// What a tool is: a name, a description and typed parameters (offered to the model as JSON
// Schema, and used to check the arguments the model sends), tool-specific checks that compute
// the facts the contract reads, and the action run once the contract committed.

import { JValue, J_STR, J_NUM, J_OBJ, J_ARR, J_BOOL, J_NULL } from "../../json";
import { Val, vMap, vStr, vNum, vArr, mapPut } from "../../clp/val";
import { jsonToVal, utf8 } from "../clasp";

/** Parameter types: a JSON string, an integer (a JSON number without fraction), or any JSON value. */
export const P_STRING: i32 = 0;
export const P_INTEGER: i32 = 1;
export const P_ANY: i32 = 2;

/** One parameter of a tool. For P_INTEGER, `min`..`max` bound it; for P_STRING, `max` bounds its UTF-8 bytes (0: no bound). */
export class Param {
  constructor(
    public name: string,
    public type: i32,
    public required: bool,
    public description: string,
    public min: f64 = 0,
    public max: f64 = 0,
  ) {}
}

/** What a tool call returns to the model. */
export class ToolResult {
  /** The text sent back as the tool's result. */
  content: string = "";
  /** True when the contract refused the call (`guard` names the denying guard, if one did). */
  denied: bool = false;
  guard: string = "";
  /** True when the call did not do what it asked (malformed, refused, or the tool failed). */
  error: bool = false;

  /** A successful result. */
  static ok(content: string): ToolResult {
    let r = new ToolResult();
    r.content = content;
    return r;
  }

  /** A failed one. */
  static fail(content: string): ToolResult {
    let r = new ToolResult();
    r.content = content;
    r.error = true;
    return r;
  }
}

/** One call in progress: its arguments and the facts the contract sees. */
export class Call {
  /** The validated arguments (an object). */
  args: JValue = JValue.object();
  /** Workspace-relative path (file tools), "" for the workspace itself. */
  path: string = "";
  /** The path's or address's segments; null when the tool has neither. */
  segments: string[] | null = null;
  hasPath: bool = false;
  /** CLASP address (clasp tools), "" when none. */
  address: string = "";
  /** UTF-8 size of the content, text or encoded value written (-1: none). */
  bytes: f64 = -1;
  /** The value a clasp tool sends, converted in `prepare`. */
  value: Val | null = null;

  /** The argument `name` as a string ("" when absent). */
  str(name: string): string {
    return this.args.str(name, "");
  }

  /**
   * The intent payload: `{tool, args, session, path?, file?, ext?, address?, segments?, bytes?}`
   * (the default contract documents each key). `args` is the audit's summarised form.
   */
  payload(tool: string, session: string, args: JValue): Val {
    let m = vMap();
    mapPut(m, utf8("tool"), vStr(utf8(tool)));
    let a = jsonToVal(args);
    mapPut(m, utf8("args"), a === null ? vMap() : a!);
    mapPut(m, utf8("session"), vStr(utf8(session)));
    if (this.hasPath) {
      mapPut(m, utf8("path"), vStr(utf8(this.path)));
      let file = this.segments!.length > 0 ? this.segments![this.segments!.length - 1] : "";
      mapPut(m, utf8("file"), vStr(utf8(file)));
      mapPut(m, utf8("ext"), vStr(utf8(extension(file))));
    }
    if (this.address.length > 0) mapPut(m, utf8("address"), vStr(utf8(this.address)));
    let segs = this.segments;
    if (segs !== null) {
      let items = new Array<Val>();
      for (let i = 0; i < segs.length; i++) items.push(vStr(utf8(segs[i])));
      mapPut(m, utf8("segments"), vArr(items));
    }
    if (this.bytes >= 0) mapPut(m, utf8("bytes"), vNum(this.bytes));
    return m;
  }
}

/**
 * A file name's extension: after the last ".", ASCII letters lowercased; "" when none (a
 * leading dot alone is no extension: ".env" has none).
 */
export function extension(file: string): string {
  let dot = file.lastIndexOf(".");
  if (dot <= 0) return "";
  let ext = "";
  for (let i = dot + 1; i < file.length; i++) {
    let c = file.charCodeAt(i);
    ext += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 32 : c);
  }
  return ext;
}

/** A tool the model may call. */
export abstract class Tool {
  constructor(public name: string, public description: string, public params: Param[]) {}

  /** The JSON Schema of the arguments: an object of the parameters, required ones listed, nothing else allowed. */
  schema(): JValue {
    let props = JValue.object();
    let required = JValue.array();
    for (let i = 0; i < this.params.length; i++) {
      let p = this.params[i];
      let s = JValue.object();
      if (p.type == P_STRING) s.set("type", JValue.string("string"));
      else if (p.type == P_INTEGER) {
        s.set("type", JValue.string("integer"));
        s.set("minimum", JValue.number(p.min));
        s.set("maximum", JValue.number(p.max));
      }
      s.set("description", JValue.string(p.description));
      props.set(p.name, s);
      if (p.required) required.push(JValue.string(p.name));
    }
    return JValue.object()
      .set("type", JValue.string("object"))
      .set("properties", props)
      .set("required", required)
      .set("additionalProperties", JValue.boolean(false));
  }

  /**
   * Checks `args` (a JSON object) against the parameters: no unknown keys, required ones
   * present, types and bounds. Returns the problem in words, or null.
   */
  check(args: JValue): string | null {
    for (let i = 0; i < args.keys.length; i++) {
      let k = args.keys[i];
      if (this.param(k) === null) return "unknown argument \"" + k + "\" (" + this.name + " takes " + this.names() + ")";
    }
    for (let i = 0; i < this.params.length; i++) {
      let p = this.params[i];
      let v = args.get(p.name);
      if (v === null || v.kind == J_NULL) {
        if (p.required) return "missing argument \"" + p.name + "\" (" + this.name + " takes " + this.names() + ")";
        continue;
      }
      if (p.type == P_STRING) {
        if (v.kind != J_STR) return "argument \"" + p.name + "\" must be a string, got " + kindName(v.kind);
        if (p.max > 0 && <f64>v.s.length > p.max && <f64>utf8(v.s).byteLength > p.max) {
          return "argument \"" + p.name + "\" is " + utf8(v.s).byteLength.toString() + " bytes; " + this.name + " takes at most " + (<i64>p.max).toString();
        }
      } else if (p.type == P_INTEGER) {
        if (v.kind != J_NUM || v.n != Math.floor(v.n)) return "argument \"" + p.name + "\" must be an integer";
        if (v.n < p.min || v.n > p.max) return "argument \"" + p.name + "\" must be between " + (<i64>p.min).toString() + " and " + (<i64>p.max).toString();
      }
    }
    return null;
  }

  /** Tool-specific checks (paths, addresses, values) that also fill the call's facts; the problem in words, or null. */
  prepare(c: Call): string | null {
    return null;
  }

  /** Does what the call asks; runs only after the contract committed it. */
  abstract run(c: Call): ToolResult;

  private param(name: string): Param | null {
    for (let i = 0; i < this.params.length; i++) if (this.params[i].name == name) return this.params[i];
    return null;
  }

  private names(): string {
    let s = "";
    for (let i = 0; i < this.params.length; i++) {
      let p = this.params[i];
      s += (i > 0 ? ", " : "") + p.name + (p.required ? "" : "?");
    }
    return s.length > 0 ? s : "no arguments";
  }
}

/** A JSON value kind in words. */
export function kindName(kind: i32): string {
  switch (kind) {
    case J_NULL: return "null";
    case J_BOOL: return "a boolean";
    case J_NUM: return "a number";
    case J_STR: return "a string";
    case J_ARR: return "an array";
  }
  return "an object";
}
