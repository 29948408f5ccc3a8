// Text embeddings for clawft's vector memory (memory.ts).
//
// `Embedder` is what memory asks for vectors; the default, `HashedNgramEmbedder`, needs no
// model and no network: a bag of words and character 3-grams hashed into `dim` buckets with a
// signed hash ("feature hashing", Weinberger, Dasgupta, Langford, Smola & Attenberg, ICML
// 2009: the sign hash ξ makes colliding features cancel out in expectation). It matches texts
// that share words or word pieces, nothing deeper; the provider's /embeddings embedder
// (llm/embeddings.ts) replaces it when configured.
//
// docs/memory.md specifies it exactly, so that JavaScript reproduces it bit for bit: lower
// case with ς folded to σ; tokens are the runs between separators (a fixed set of code
// points); per token the word feature "w"+token and the 3-gram features "g"+gram of
// "<"+token+">"; FNV-1a 32 of a feature's UTF-8 picks its bucket (mod dim), bit 31 of
// MurmurHash3's fmix32 of that hash its sign; the counts are L2-normalised into f32.

/** Name of the hashed n-gram embedding, as memory records it (with the dimension). */
export const HASHED_NGRAM = "hashed-ngram-v1";

/** Dimension of the default embedding (that of small sentence models, e.g. all-MiniLM-L6-v2). */
export const DEFAULT_DIM: i32 = 384;

/**
 * Turns texts into vectors of `dim` f32. A memory records the `name` and `dim` of the
 * embedder that built it and refuses to mix in another's vectors, so `name` must change
 * whenever the vectors would (another model, another algorithm version).
 */
export abstract class Embedder {
  /** Why the last `embed` returned null. */
  error: string = "";

  constructor(public name: string, public dim: i32) {}

  /** One vector of `dim` floats per text, in order; null with `error` set when it cannot. */
  abstract embed(texts: string[]): Float32Array[] | null;
}

/** The hashed n-gram embedding (`hashed-ngram-v1`, docs/memory.md). */
export class HashedNgramEmbedder extends Embedder {
  constructor(dim: i32 = DEFAULT_DIM) {
    super(HASHED_NGRAM, dim);
  }

  /** Never fails: every text has an embedding (the zero vector when it has no tokens). */
  embed(texts: string[]): Float32Array[] | null {
    let out = new Array<Float32Array>(texts.length);
    for (let i = 0; i < texts.length; i++) out[i] = hashedNgram(texts[i], this.dim);
    return out;
  }
}

const FNV_OFFSET: u32 = 0x811c9dc5;
const FNV_PRIME: u32 = 0x01000193;

/** Is code point `c` a separator between tokens (docs/memory.md, step 2)? */
function separator(c: u32): bool {
  if (c < 0x80) return !((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a));
  if (c < 0x100) return c <= 0xbf || c == 0xd7 || c == 0xf7;
  return c == 0x1680 || (c >= 0x2000 && c <= 0x206f) || (c >= 0x2e00 && c <= 0x2e7f) ||
    (c >= 0x3000 && c <= 0x303f) || (c >= 0xfe30 && c <= 0xfe4f) || c == 0xfeff ||
    (c >= 0xff00 && c <= 0xff0f) || (c >= 0xff1a && c <= 0xff20) || (c >= 0xff3b && c <= 0xff40) ||
    (c >= 0xff5b && c <= 0xff65);
}

/** FNV-1a step over the UTF-8 bytes of code point `c`. */
function fnvCodePoint(h: u32, c: u32): u32 {
  if (c < 0x80) return (h ^ c) * FNV_PRIME;
  if (c < 0x800) {
    h = (h ^ (0xc0 | (c >> 6))) * FNV_PRIME;
  } else {
    if (c < 0x10000) {
      h = (h ^ (0xe0 | (c >> 12))) * FNV_PRIME;
    } else {
      h = (h ^ (0xf0 | (c >> 18))) * FNV_PRIME;
      h = (h ^ (0x80 | ((c >> 12) & 0x3f))) * FNV_PRIME;
    }
    h = (h ^ (0x80 | ((c >> 6) & 0x3f))) * FNV_PRIME;
  }
  return (h ^ (0x80 | (c & 0x3f))) * FNV_PRIME;
}

/** MurmurHash3's 32-bit finaliser (fmix32): the sign hash ξ, independent of the bucket's bits. */
function fmix32(h: u32): u32 {
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  return h ^ (h >>> 16);
}

/** Adds the feature of hash `h` to `counts` (docs/memory.md, step 4). */
@inline function count(counts: Int32Array, h: u32): void {
  let b = <i32>(h % <u32>counts.length);
  unchecked(counts[b] += (fmix32(h) >>> 31) != 0 ? -1 : 1);
}

/** Code points of a token, reused between calls. */
class Scratch {
  static cps: Uint32Array = new Uint32Array(256);
}

/** Adds the word feature and the 3-gram features of the token in Scratch.cps[0, n). */
function features(counts: Int32Array, n: i32): void {
  let cps = Scratch.cps;
  let h = (FNV_OFFSET ^ 0x77) * FNV_PRIME; // "w"
  for (let i = 0; i < n; i++) h = fnvCodePoint(h, unchecked(cps[i]));
  count(counts, h);
  // 3-grams of "<" + token + ">": position -1 is "<", position n is ">".
  for (let i = -1; i < n - 1; i++) {
    let g = (FNV_OFFSET ^ 0x67) * FNV_PRIME; // "g"
    for (let j = i; j < i + 3; j++) {
      let c: u32 = j < 0 ? 0x3c : j >= n ? 0x3e : unchecked(cps[j]);
      g = fnvCodePoint(g, c);
    }
    count(counts, g);
  }
}

/**
 * The hashed n-gram embedding of `text` (docs/memory.md): `dim` f32, L2 norm 1, or all zero
 * when the text has no tokens. `dim` ≥ 1.
 */
export function hashedNgram(text: string, dim: i32): Float32Array {
  let counts = new Int32Array(dim);
  let t = text.toLowerCase();
  let len = t.length;
  let n = 0;
  for (let i = 0; i <= len; i++) {
    let c: u32 = 0x20;
    if (i < len) {
      c = <u32>t.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdfff) {
        let lo: u32 = i + 1 < len ? <u32>t.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
          i++;
        } else {
          c = 0xfffd;
        }
      } else if (c == 0x3c2) {
        c = 0x3c3;
      }
    }
    if (!separator(c)) {
      if (n == Scratch.cps.length) {
        let grown = new Uint32Array(n << 1);
        grown.set(Scratch.cps);
        Scratch.cps = grown;
      }
      unchecked((Scratch.cps[n++] = c));
    } else if (n > 0) {
      features(counts, n);
      n = 0;
    }
  }
  let sum: f64 = 0;
  for (let i = 0; i < dim; i++) {
    let x = <f64>unchecked(counts[i]);
    sum += x * x;
  }
  let v = new Float32Array(dim);
  if (sum == 0) return v;
  let norm = Math.sqrt(sum);
  for (let i = 0; i < dim; i++) unchecked((v[i] = <f32>(<f64>unchecked(counts[i]) / norm)));
  return v;
}
