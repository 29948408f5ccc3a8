// clasp_set, clasp_get, clasp_publish: the agent's MiniRouter state (clasp.ts), the same
// params a device or a peer sees over `clawft.wasm router`. Values are JSON, mapped to CLASP
// values as the TypeScript face maps JavaScript values (numbers are float64; `{"$bytes": hex}`
// and `{"$bigint": "decimal"}` for the types JSON lacks).

import { JValue, stringify } from "../../json";
import { decode } from "../../clp/val";
import { Tool, Param, Call, ToolResult, P_STRING, P_ANY } from "./tool";
import { Clasp, jsonToVal, valToJson, encodeVal, utf8, text, ValueError } from "../clasp";

/** Most segments an address may have (the router's limit for patterns). */
const MAX_SEGMENTS: i32 = 64;
/** Longest address (UTF-8 bytes). */
const MAX_ADDRESS: i32 = 1024;

/**
 * Checks a param address and fills `c.address` and `c.segments`: it starts with "/", has no
 * empty segment, no wildcard (`*` belongs to patterns), no control character, at most 64
 * segments. Returns the problem, or null.
 */
function address(c: Call): string | null {
  let a = c.str("address");
  if (!a.startsWith("/") || a.length < 2) return "an address starts with / and names something, e.g. /lights/kitchen";
  if (utf8(a).byteLength > MAX_ADDRESS) return "the address is longer than " + MAX_ADDRESS.toString() + " bytes";
  for (let i = 0; i < a.length; i++) {
    let ch = a.charCodeAt(i);
    if (ch == 0x2a) return "an address has no wildcards (* is for subscription patterns)";
    if (ch < 0x20 || ch == 0x7f) return "control characters are refused in addresses";
  }
  let segs = a.substring(1).split("/");
  if (segs.length > MAX_SEGMENTS) return "an address has at most " + MAX_SEGMENTS.toString() + " segments";
  for (let i = 0; i < segs.length; i++) if (segs[i].length == 0) return "an address has no empty segment (no // and no trailing /)";
  c.address = a;
  c.segments = segs;
  return null;
}

/** Converts the call's `value` argument (if any) into `c.value` and its encoded size into `c.bytes`. */
function value(c: Call, required: bool): string | null {
  let v = c.args.get("value");
  if (v === null) return required ? "missing argument \"value\"" : null;
  let val = jsonToVal(v!);
  if (val === null) return "argument \"value\": " + ValueError.message;
  let bytes = encodeVal(val!);
  if (bytes === null) return "argument \"value\": " + ValueError.message;
  c.value = val;
  c.bytes = <f64>bytes.byteLength;
  return null;
}

/** clasp_set {address, value}: sets a param; answers its new revision. */
export class ClaspSet extends Tool {
  constructor() {
    super("clasp_set", "Set a CLASP param (shared state other devices and apps see) to a JSON value; answers the new revision.", [
      new Param("address", P_STRING, true, "The param's address, e.g. /lights/kitchen/level."),
      new Param("value", P_ANY, true, "The new value (any JSON)."),
    ]);
  }

  prepare(c: Call): string | null {
    let r = address(c);
    return r !== null ? r : value(c, true);
  }

  run(c: Call): ToolResult {
    if (!Clasp.load()) return ToolResult.fail("the router's state is unavailable: " + Clasp.error);
    let revision = Clasp.set(c.address, c.value!);
    if (revision == 0) return ToolResult.fail("cannot set " + c.address + ": " + Clasp.error);
    return ToolResult.ok(stringify(JValue.object().set("address", JValue.string(c.address)).set("revision", JValue.number(<f64>revision))));
  }
}

/** clasp_get {address}: a param's value, revision, writer and time of the last write. */
export class ClaspGet extends Tool {
  constructor() {
    super("clasp_get", "Read a CLASP param: its value, revision, last writer and when it was written.", [
      new Param("address", P_STRING, true, "The param's address."),
    ]);
  }

  prepare(c: Call): string | null {
    return address(c);
  }

  run(c: Call): ToolResult {
    if (!Clasp.load()) return ToolResult.fail("the router's state is unavailable: " + Clasp.error);
    let p = Clasp.get(c.address);
    if (p === null) return ToolResult.fail("no param at " + c.address);
    let v = decode(changetype<usize>(p.value), <usize>p.value.byteLength);
    if (v === null) return ToolResult.fail("the param at " + c.address + " holds a value that does not decode");
    let o = JValue.object()
      .set("address", JValue.string(c.address))
      .set("value", valToJson(v!))
      .set("revision", JValue.number(<f64>p.revision))
      .set("writer", JValue.string(text(p.writer)))
      .set("written", JValue.string(new Date(<i64>(p.timestamp / 1000)).toISOString()));
    return ToolResult.ok(stringify(o));
  }
}

/** clasp_publish {address, value?}: an event to the address's subscribers; answers how many it reached. */
export class ClaspPublish extends Tool {
  constructor() {
    super("clasp_publish", "Publish a CLASP event (not stored) to everyone subscribed to the address; answers how many it reached.", [
      new Param("address", P_STRING, true, "The event's address, e.g. /doorbell/ring."),
      new Param("value", P_ANY, false, "The event's value (any JSON); none when absent."),
    ]);
  }

  prepare(c: Call): string | null {
    let r = address(c);
    return r !== null ? r : value(c, false);
  }

  run(c: Call): ToolResult {
    if (!Clasp.load()) return ToolResult.fail("the router's state is unavailable: " + Clasp.error);
    let n = Clasp.publish(c.address, c.value);
    if (n < 0) return ToolResult.fail("cannot publish to " + c.address + ": " + Clasp.error);
    return ToolResult.ok(stringify(JValue.object().set("address", JValue.string(c.address)).set("delivered", JValue.number(<f64>n))));
  }
}
