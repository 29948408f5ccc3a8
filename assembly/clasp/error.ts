// Error codes and reasons of the CLASP codec.
//
// Codes are the protocol's own (clasp-wire.md §4.2 "Error codes"); encode failures, which the
// protocol does not name, use the 1xxx range. Reasons are indices into REASONS so that a tape
// (docs/abi.md) can carry them as one word and every host prints the same text.

/** 100 InvalidFrame: bad magic, short header, or a declared length past the end of the input. */
export const INVALID_FRAME: u32 = 100;
/** 101 InvalidMessage: the payload does not parse as a CLASP v1 message. */
export const INVALID_MESSAGE: u32 = 101;
/** 102 UnsupportedVersion: a legacy MessagePack payload (encoding version 0). */
export const UNSUPPORTED_VERSION: u32 = 102;
/** Encode failure: a size limit of the wire format was exceeded. */
export const ENCODE_LIMIT: u32 = 1001;
/** Encode failure: the tape handed in by the host is malformed. */
export const ENCODE_TAPE: u32 = 1002;

export const R_NONE: u32 = 0;
export const R_SHORT_HEADER: u32 = 1;
export const R_BAD_MAGIC: u32 = 2;
export const R_FRAME_PAST_END: u32 = 3;
export const R_EMPTY_PAYLOAD: u32 = 4;
export const R_UNKNOWN_TYPE: u32 = 5;
export const R_TRUNCATED: u32 = 6;
export const R_BAD_VALUE_TYPE: u32 = 7;
export const R_BAD_UTF8: u32 = 8;
export const R_TOO_DEEP: u32 = 9;
export const R_MSGPACK: u32 = 10;
export const R_BAD_FED_OP: u32 = 11;
export const R_TRAILING: u32 = 12;
export const R_PAYLOAD_TOO_LARGE: u32 = 13;
export const R_STRING_TOO_LONG: u32 = 14;
export const R_TOO_MANY_ENTRIES: u32 = 15;
export const R_BAD_TAPE: u32 = 16;
export const R_FRAME_TOO_LARGE: u32 = 17;
export const R_SLIP_ESCAPE: u32 = 18;

/**
 * Human-readable text of each reason, in R_* order, separated by "|": one string keeps the
 * static data small (one header, not twenty).
 */
// prettier-ignore
export const REASON_TEXT = "no error|frame shorter than its header|bad magic byte (expected 0x53)|frame length runs past the end of the input|empty payload (no message type byte)|unknown message type|message truncated|unknown value type|invalid UTF-8 in string|nesting deeper than 64 levels|legacy MessagePack payloads are not supported|unknown FEDERATION_SYNC op|trailing bytes after value|payload over 65535 bytes|string or bytes over 65535 bytes|array, map or list over 65535 entries|malformed tape|frame over the stream's maximum size|invalid SLIP escape";

/** Length (UTF-16 code units) of the text `textPart` last returned. */
export let partLength: usize = 0;

/**
 * Part `id` of a "|"-separated list of ASCII texts: returns the address of its UTF-16 code
 * units and leaves their count in `partLength` (0 for an id past the end).
 */
export function textPart(list: string, id: u32): usize {
  let base = changetype<usize>(list);
  let n = <usize>list.length;
  let start: usize = 0;
  for (let k: u32 = 0; k < id && start < n; start++) {
    if (load<u16>(base + (start << 1)) == 0x7c) k++;
  }
  let end = start;
  while (end < n && load<u16>(base + (end << 1)) != 0x7c) end++;
  partLength = end - start;
  return base + (start << 1);
}

/** The text of reason `id`: see `textPart`. */
export function reasonText(id: u32): usize {
  return textPart(REASON_TEXT, id);
}

/** The first failure of the current call; later failures are ignored. */
export class Err {
  static code: u32 = 0;
  static reason: u32 = 0;
  static at: u32 = 0;
}

/** Records a failure unless one is already recorded. */
export function fail(code: u32, reason: u32, at: u32): void {
  if (Err.code == 0) {
    Err.code = code;
    Err.reason = reason;
    Err.at = at;
  }
}

/** Clears the recorded failure. */
@inline export function clearError(): void {
  Err.code = 0;
  Err.reason = 0;
  Err.at = 0;
}
