/**
 * Handshake, error frames and protocol versions (docs/plugin-protocol.md §2, §4, §5).
 * @module
 */
import type { PluginErrorFrame } from "./errors.js";

/** The protocol version this host implements, `"MAJOR.MINOR"`. */
export const PROTOCOL_VERSION = "1.0";

/** The handshake frame's JSON: the first frame a plugin reads. */
export interface Handshake {
  /** The host's protocol version. */
  readonly protocol: string;
  /** MIME type of every input data frame. */
  readonly input_type: string;
  /** MIME type the plugin must produce. */
  readonly output_type: string;
  /** The node's options with defaults filled in. */
  readonly config: Readonly<Record<string, string | number | boolean>>;
  /** Largest payload either side may send, in bytes. */
  readonly max_frame: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 JSON payload of a handshake frame. */
export function encodeHandshake(h: Handshake): Uint8Array {
  return encoder.encode(JSON.stringify(h));
}

/** Splits `"MAJOR.MINOR"` (a bare `"MAJOR"` means minor 0); null when malformed. */
export function parseVersion(v: string): { major: number; minor: number } | null {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(v.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2] ?? 0) } : null;
}

/**
 * True when a plugin declaring `pluginVersion` can run on this host: same major version and a
 * minor version no greater than the host's. There is no fallback for any other version.
 */
export function isCompatibleProtocol(pluginVersion: string, hostVersion: string = PROTOCOL_VERSION): boolean {
  const p = parseVersion(pluginVersion);
  const h = parseVersion(hostVersion);
  return !!p && !!h && p.major === h.major && p.minor <= h.minor;
}

/**
 * Parses the frame that follows a plugin's end frame as a `{type, message, fatal}` error frame.
 * `fatal` defaults to true when absent.
 * @returns the error frame, or null when the payload is not one (a protocol violation)
 */
export function parseErrorFrame(payload: Uint8Array): PluginErrorFrame | null {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(payload));
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const { type, message, fatal } = value as Record<string, unknown>;
  if (typeof type !== "string" || type.length === 0 || typeof message !== "string") return null;
  if (fatal !== undefined && typeof fatal !== "boolean") return null;
  return { type, message, fatal: fatal ?? true };
}
