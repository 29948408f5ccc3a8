// Canonical ABI by hand (component model, CanonicalABI.md), shared by every core's component.
//
// asc has no component bindings, so each component entry lowers its results itself: lists
// and strings are returned through a static return area; parameter buffers are allocated by
// the host through `cabi_realloc` and freed by the callee once read.

/** Static return area: big enough for `result<list<T>, record { u16, u32, string }>`. */
export const RET: usize = memory.data(32, 8);

/**
 * The allocator the host calls to pass lists and strings in (canonical ABI `realloc`).
 * `align` is at most 8 for our types; TLSF blocks are 16-byte aligned.
 */
export function cabi_realloc(old: usize, oldSize: usize, align: usize, newSize: usize): usize {
  if (newSize == 0) return align;
  if (old == 0) return heap.alloc(newSize);
  return heap.realloc(old, newSize);
}

/** Frees a parameter buffer the host allocated through `cabi_realloc`. */
export function freeParam(ptr: usize, len: usize): void {
  if (len != 0 && ptr != 0) heap.free(ptr);
}

/** Lowers a `list<T>` or `string` result: (ptr, len) at RET. Returns RET. */
export function returnList(ptr: usize, len: usize): usize {
  store<u32>(RET, <u32>ptr);
  store<u32>(RET, <u32>len, 4);
  return RET;
}

/** Lowers `ok(list<T>)` of a `result<list<T>, E>`: discriminant 0, (ptr, len) at offset 4. */
export function returnOkList(ptr: usize, len: usize): usize {
  store<u8>(RET, 0);
  store<u32>(RET, <u32>ptr, 4);
  store<u32>(RET, <u32>len, 8);
  return RET;
}

/** Scratch for UTF-8 copies of error texts (all ASCII). */
const TEXT: usize = memory.data(256);

/** Copies ASCII UTF-16 text [src, src + 2·n) into TEXT as UTF-8; returns its length in bytes. */
export function asciiText(src: usize, n: usize): usize {
  if (n > 256) n = 256;
  for (let i: usize = 0; i < n; i++) store<u8>(TEXT + i, load<u8>(src + (i << 1)));
  return n;
}

/**
 * Lowers `err(record { code: u16, offset: u32, message: string })`: discriminant 1, then the
 * record at offset 4 (code @4, offset @8, message ptr @12, len @16). The message is ASCII
 * UTF-16 text [text, text + 2·n).
 */
export function returnError(code: u32, offset: u32, text: usize, n: usize): usize {
  store<u8>(RET, 1);
  store<u16>(RET, <u16>code, 4);
  store<u32>(RET, offset, 8);
  store<u32>(RET, <u32>TEXT, 12);
  store<u32>(RET, <u32>asciiText(text, n), 16);
  return RET;
}

/** Lowers a `string` result from ASCII UTF-16 text [text, text + 2·n). */
export function returnText(text: usize, n: usize): usize {
  return returnList(TEXT, asciiText(text, n));
}
