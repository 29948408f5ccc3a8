// CLASP codec as a WASI preview2 component: the `clawft:clasp/codec` interface of
// wit/clasp.wit, lowered by hand (assembly/abi/canonical.ts). Export names follow the build's
// convention `<interface>__<function>` (scripts/build.mjs renames them to
// `clawft:clasp/codec@<version>#<function>`).

import { freeParam, returnList, returnOkList, returnError, returnText } from "../abi/canonical";
import { Err, reasonText, partLength } from "./error";
import { Wr, writtenBytes } from "./wire";
import { Tw } from "./tape";
import { decodeFrames, encodeFrames, encodeValueAt, decodeValueAt } from "./codec";

export { cabi_realloc } from "../abi/canonical";

/** decode: func(frames: list<u8>) -> list<u32> */
export function codec__decode(ptr: usize, len: usize): usize {
  decodeFrames(ptr, len, 0, 0);
  freeParam(ptr, len);
  return returnList(Tw.out.ptr, Tw.len >> 2);
}

function failed(): usize {
  let text = reasonText(Err.reason);
  return returnError(Err.code, Err.at, text, partLength);
}

/** encode: func(tape: list<u32>, arena: list<u8>, count: u32) -> result<list<u8>, codec-error> */
export function codec__encode(tape: usize, words: usize, arena: usize, arenaLen: usize, count: u32): usize {
  encodeFrames(tape, words << 2, arena, arenaLen, count, 0, 0);
  freeParam(tape, words);
  freeParam(arena, arenaLen);
  if (Err.code != 0) return failed();
  return returnOkList(Wr.out.ptr, writtenBytes());
}

/** encode-value: func(tape: list<u32>, arena: list<u8>) -> result<list<u8>, codec-error> */
export function codec__encode_value(tape: usize, words: usize, arena: usize, arenaLen: usize): usize {
  let bytes = encodeValueAt(tape, words << 2, arena, arenaLen);
  freeParam(tape, words);
  freeParam(arena, arenaLen);
  if (Err.code != 0) return failed();
  return returnOkList(Wr.out.ptr, bytes);
}

/** decode-value: func(value: list<u8>) -> result<list<u32>, codec-error> */
export function codec__decode_value(ptr: usize, len: usize): usize {
  let bytes = decodeValueAt(ptr, len);
  freeParam(ptr, len);
  if (Err.code != 0) return failed();
  return returnOkList(Tw.out.ptr, bytes >> 2);
}

/** reason: func(id: u32) -> string */
export function codec__reason(id: u32): usize {
  let text = reasonText(id);
  return returnText(text, partLength);
}
