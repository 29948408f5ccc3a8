/**
 * Hex text for bytes, in every host (no Node `Buffer`: browsers and workerd too). Used for
 * hashes in CLP reports, `$bytes` in CLASP JSON and frames on the CLI.
 * @module
 */

/** Lowercase hex of `bytes`, two digits a byte. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += (b < 16 ? "0" : "") + b.toString(16);
  return s;
}

/** Thrown by {@link fromHex} for text that is not whole bytes of hex. */
export class HexError extends SyntaxError {
  override name = "HexError";
}

/**
 * The bytes hex `text` spells (either case, two digits a byte).
 * @throws HexError when `text` has a character other than 0-9 a-f A-F or an odd number of digits
 */
export function fromHex(text: string): Uint8Array {
  if (text.length % 2 || /[^0-9a-f]/i.test(text)) {
    throw new HexError(`expected hex bytes (pairs of 0-9 a-f), got ${JSON.stringify(text.slice(0, 40))}`);
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}
