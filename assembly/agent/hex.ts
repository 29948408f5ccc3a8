// Lowercase hexadecimal text of bytes and back (RFC 4648 §8, "base16"), for the audit log's
// SHA-256 hashes and the `{"$bytes": "<hex>"}` form of byte strings in JSON (the same form as
// the TypeScript face's src/clasp/json.ts).

const DIGITS = "0123456789abcdef";

/** Lowercase hex of bytes [p, p + n): two characters a byte. */
export function toHex(p: usize, n: usize): string {
  let parts = new Array<string>(<i32>n);
  for (let i: usize = 0; i < n; i++) {
    let b = <i32>load<u8>(p + i);
    unchecked((parts[<i32>i] = DIGITS.charAt(b >> 4) + DIGITS.charAt(b & 15)));
  }
  return parts.join("");
}

/** Lowercase hex of a whole buffer. */
export function hexOf(b: ArrayBuffer): string {
  return toHex(changetype<usize>(b), <usize>b.byteLength);
}

function nibble(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** The bytes spelled by hex text `s` (either case); null when its length is odd or a character is not a hex digit. */
export function fromHex(s: string): ArrayBuffer | null {
  let n = s.length;
  if (n & 1) return null;
  let out = new ArrayBuffer(n >> 1);
  let p = changetype<usize>(out);
  for (let i = 0; i < n; i += 2) {
    let hi = nibble(s.charCodeAt(i));
    let lo = nibble(s.charCodeAt(i + 1));
    if (hi < 0 || lo < 0) return null;
    store<u8>(p + (i >> 1), <u8>((hi << 4) | lo));
  }
  return out;
}
