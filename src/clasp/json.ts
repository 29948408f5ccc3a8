/**
 * JSON for CLASP messages and values, with the types JSON lacks: a bigint becomes
 * `{"$bigint": "<decimal>"}`, bytes `{"$bytes": "<hex>"}`, a ClaspDecodeError
 * `{"error": {code, offset, reason}}`. Used by the CLI and the Cloudflare Worker; no Node APIs.
 * @module
 */
import { ClaspDecodeError } from "./errors.js";
import { toHex, fromHex } from "../core/hex.js";

/** Serialises `value` (messages, frames, values, decode errors) as JSON. */
export function toJson(value: unknown, space?: number): string {
  return JSON.stringify(
    value,
    (_k, v) => {
      if (typeof v === "bigint") return { $bigint: v.toString() };
      if (v instanceof Uint8Array) return { $bytes: toHex(v) };
      if (v instanceof ClaspDecodeError) return { error: { code: v.code, offset: v.offset, reason: v.reason } };
      return v;
    },
    space,
  );
}

/** Parses JSON written by {@link toJson}. @throws SyntaxError for invalid JSON or `$bytes` */
export function fromJson(text: string): unknown {
  return JSON.parse(text, (_k, v) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1 && typeof v.$bigint === "string") return BigInt(v.$bigint);
      if (keys.length === 1 && typeof v.$bytes === "string") return fromHex(v.$bytes);
    }
    return v;
  });
}
