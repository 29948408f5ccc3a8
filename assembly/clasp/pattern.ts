// CLASP address patterns with the router trie's semantics (clasp-wire.md §5), one matcher for
// live delivery, snapshots, QUERY and scopes alike (upstream uses five; see docs/router.md).
//
// An address is split on "/" after dropping its first character: "/a/b" → [a, b], "/" → [""].
// Pattern segments: "**" matches zero or more segments; "*" exactly one (possibly empty);
// a segment with "*" among other characters matches one segment where each "*" stands for
// zero or more characters; every other character is literal (including ? [ ] { } . + ( ),
// which upstream's regex-based compiler chokes on). Matching is case-sensitive, on bytes.

import { Region, copyBytes } from "../abi/buffer";
import { equalBytes } from "./bytesmap";

export const LITERAL: u8 = 0;
export const STAR: u8 = 1;
export const DSTAR: u8 = 2;
export const PARTIAL: u8 = 3;

/** Most segments a pattern may have. */
export const MAX_PATTERN_SEGMENTS = 64;
/** Most `**` segments a pattern may have (after merging adjacent ones). */
export const MAX_DSTARS = 8;

const SLASH: u32 = 0x2f;
const ASTERISK: u32 = 0x2a;

/** Why a pattern does not compile, indexed by PatternError.reason. */
// prettier-ignore
export const PATTERN_ERRORS = "empty pattern|pattern must start with /|empty segment in pattern|pattern has more than 64 segments|pattern has more than 8 ** segments";

/** Why the last `compilePattern` failed: an index into PATTERN_ERRORS. */
export class PatternError {
  static reason: u32 = 0;
}

/** A compiled pattern: its own copy of the bytes and, per segment, kind, start and length. */
export class Pattern {
  constructor(
    public text: ArrayBuffer,
    public kinds: StaticArray<u8>,
    public starts: StaticArray<u32>,
    public lens: StaticArray<u32>,
  ) {}

  get count(): i32 {
    return this.kinds.length;
  }

  /** True when the pattern has no wildcard: it names one address. */
  get literal(): bool {
    for (let i = 0; i < this.kinds.length; i++) if (unchecked(this.kinds[i]) != LITERAL) return false;
    return true;
  }

  @inline segPtr(i: i32): usize {
    return changetype<usize>(this.text) + <usize>unchecked(this.starts[i]);
  }
}

/**
 * Compiles the pattern bytes [p, p + n). Returns null (reason in PatternError.reason) when
 * it is empty, does not start with "/", has an empty segment other than the last, or is
 * over the limits above.
 */
export function compilePattern(p: usize, n: usize): Pattern | null {
  if (n == 0) {
    PatternError.reason = 0;
    return null;
  }
  if (<u32>load<u8>(p) != SLASH) {
    PatternError.reason = 1;
    return null;
  }
  let kinds = new StaticArray<u8>(0);
  let starts = new StaticArray<u32>(0);
  let lens = new StaticArray<u32>(0);
  // Two passes over the segments: validate and count, then fill.
  let count = 0;
  let dstars = 0;
  let previous: u8 = 0xff;
  for (let pass = 0; pass < 2; pass++) {
    if (pass == 1) {
      if (count > MAX_PATTERN_SEGMENTS) {
        PatternError.reason = 3;
        return null;
      }
      if (dstars > MAX_DSTARS) {
        PatternError.reason = 4;
        return null;
      }
      kinds = new StaticArray<u8>(count);
      starts = new StaticArray<u32>(count);
      lens = new StaticArray<u32>(count);
      count = 0;
      previous = 0xff;
    }
    let start: usize = 1;
    while (true) {
      let end = start;
      while (end < n && <u32>load<u8>(p + end) != SLASH) end++;
      let len = end - start;
      let last = end >= n;
      if (len == 0 && !last) {
        PatternError.reason = 2;
        return null;
      }
      let kind = segmentKind(p + start, len);
      // "**/**" matches what "**" matches: keep one.
      if (!(kind == DSTAR && previous == DSTAR)) {
        if (pass == 1) {
          unchecked((kinds[count] = kind));
          unchecked((starts[count] = <u32>start));
          unchecked((lens[count] = <u32>len));
        } else if (kind == DSTAR) dstars++;
        count++;
      }
      previous = kind;
      if (last) break;
      start = end + 1;
    }
  }
  return new Pattern(copyBytes(p, n), kinds, starts, lens);
}

/** Kind of the pattern segment [p, p + n). */
function segmentKind(p: usize, n: usize): u8 {
  if (n == 2 && load<u16>(p) == 0x2a2a) return DSTAR;
  if (n == 1 && <u32>load<u8>(p) == ASTERISK) return STAR;
  for (let i: usize = 0; i < n; i++) if (<u32>load<u8>(p + i) == ASTERISK) return PARTIAL;
  return LITERAL;
}

/** Segments of the address being matched: (start, length) u32 pairs, reused across calls. */
export class Segments {
  static list: Region = new Region();
  static ptr: usize = 0;
  static count: i32 = 0;
  static base: usize = 0;
}

/** Splits the address [p, p + n) into `Segments` (dropping its first character). */
export function splitAddress(p: usize, n: usize): void {
  Segments.base = p;
  Segments.count = 0;
  let start: usize = n > 0 ? 1 : 0;
  while (true) {
    let end = start;
    while (end < n && <u32>load<u8>(p + end) != SLASH) end++;
    let used = <usize>Segments.count << 3;
    Segments.ptr = Segments.list.reserve(used + 8, used);
    let at = Segments.ptr + used;
    store<u32>(at, <u32>start);
    store<u32>(at, <u32>(end - start), 4);
    Segments.count++;
    if (end >= n) break;
    start = end + 1;
  }
}

@inline export function segStart(i: i32): usize {
  return Segments.base + <usize>load<u32>(Segments.ptr + (<usize>i << 3));
}

@inline export function segLen(i: i32): usize {
  return <usize>load<u32>(Segments.ptr + (<usize>i << 3), 4);
}

/**
 * Matches one segment with "*" wildcards (pattern bytes [pp, pp + pn)) against the address
 * segment [ap, ap + an): each "*" is zero or more bytes. Linear-time backtracking.
 */
export function globSegment(pp: usize, pn: usize, ap: usize, an: usize): bool {
  let pi: usize = 0;
  let ai: usize = 0;
  let star: isize = -1;
  let mark: usize = 0;
  while (ai < an) {
    if (pi < pn && <u32>load<u8>(pp + pi) == ASTERISK) {
      star = <isize>pi;
      mark = ai;
      pi++;
    } else if (pi < pn && load<u8>(pp + pi) == load<u8>(ap + ai)) {
      pi++;
      ai++;
    } else if (star >= 0) {
      pi = <usize>star + 1;
      mark++;
      ai = mark;
    } else {
      return false;
    }
  }
  while (pi < pn && <u32>load<u8>(pp + pi) == ASTERISK) pi++;
  return pi == pn;
}

/** Whether pattern segment `i` of `pat` matches address segment `j` of `Segments`. */
export function segmentMatches(pat: Pattern, i: i32, j: i32): bool {
  let kind = unchecked(pat.kinds[i]);
  if (kind == STAR) return true;
  let pp = pat.segPtr(i);
  let pn = <usize>unchecked(pat.lens[i]);
  let ap = segStart(j);
  let an = segLen(j);
  if (kind == PARTIAL) return globSegment(pp, pn, ap, an);
  return pn == an && equalBytes(pp, ap, pn);
}

/**
 * Whether `pat` matches the address last split by `splitAddress`. Segment-level backtracking
 * over "**" (each "**" is a star over segments): O(segments × pattern segments).
 */
export function matchSplit(pat: Pattern): bool {
  let np = pat.count;
  let na = Segments.count;
  let pi = 0;
  let ai = 0;
  let star = -1;
  let mark = 0;
  while (ai < na) {
    if (pi < np && unchecked(pat.kinds[pi]) == DSTAR) {
      star = pi;
      mark = ai;
      pi++;
    } else if (pi < np && segmentMatches(pat, pi, ai)) {
      pi++;
      ai++;
    } else if (star >= 0) {
      pi = star + 1;
      mark++;
      ai = mark;
    } else {
      return false;
    }
  }
  while (pi < np && unchecked(pat.kinds[pi]) == DSTAR) pi++;
  return pi == np;
}

/** Whether `pat` matches the address bytes [p, p + n). */
export function matchAddress(pat: Pattern, p: usize, n: usize): bool {
  splitAddress(p, n);
  return matchSplit(pat);
}
