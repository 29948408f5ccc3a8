// SHA-256 (FIPS 180-4, §6.2) over linear memory, for the event log's hash chain and snapshot
// checksums. The npm package @chainsafe/as-sha256 ships only compiled wasm (no AssemblyScript
// sources), and wasm-crypto drags in 130 KB of Ed25519 tables, so the core carries this one
// (verified against node:crypto by test/clp/formats.test.ts).

/** Hash state H0..H7 (8 words) and the last-block buffer. */
const H: usize = memory.data(32, 4);
const BLOCK: usize = memory.data(128, 4);

/** Initial hash value H(0) (FIPS 180-4 §5.3.3). */
const H0: StaticArray<u32> = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

// Σ0, Σ1, σ0, σ1 of §4.1.2.
@inline function S0(x: u32): u32 { return rotr<u32>(x, 2) ^ rotr<u32>(x, 13) ^ rotr<u32>(x, 22); }
@inline function S1(x: u32): u32 { return rotr<u32>(x, 6) ^ rotr<u32>(x, 11) ^ rotr<u32>(x, 25); }
@inline function s0(x: u32): u32 { return rotr<u32>(x, 7) ^ rotr<u32>(x, 18) ^ (x >>> 3); }
@inline function s1(x: u32): u32 { return rotr<u32>(x, 17) ^ rotr<u32>(x, 19) ^ (x >>> 10); }

// Round constants K (FIPS 180-4 §4.2.2): first 32 bits of the fractional parts of the cube
// roots of the first 64 primes.
const K: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/**
 * A big-endian word as read little-endian, byte-swapped: bswap<u32> as two masks and two
 * rotations, inlined (std's bswap stays a call in this build: ~1 % of a commit's time).
 */
@inline function be32(x: u32): u32 {
  return rotl<u32>(x & 0xff00ff00, 8) | rotr<u32>(x & 0x00ff00ff, 8);
}

/** Message schedule W (64 words). */
const W: usize = memory.data(256, 4);

/**
 * Compresses one 64-byte block at `p` into H (§6.2.2). The rounds run eight at a time, unrolled:
 * each of the eight renames the working variables a…h instead of moving all eight (after
 * eight rounds the names are back in place), and Ch and Maj take their shorter forms
 * (g ^ (e & (f ^ g)), (a & b) | (c & (a | b))). Checked against node:crypto by
 * test/clp/formats.test.ts.
 */
function compress(p: usize): void {
  for (let t: usize = 0; t < 16; t++) store<u32>(W + (t << 2), be32(load<u32>(p + (t << 2))));
  // W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16], addressed from W[t-16]
  for (let w = W; w < W + 192; w += 4) {
    store<u32>(w, load<u32>(w) + s0(load<u32>(w, 4)) + load<u32>(w, 36) + s1(load<u32>(w, 56)), 64);
  }
  let a = load<u32>(H, 0), b = load<u32>(H, 4), c = load<u32>(H, 8), d = load<u32>(H, 12);
  let e = load<u32>(H, 16), f = load<u32>(H, 20), g = load<u32>(H, 24), h = load<u32>(H, 28);
  let k = changetype<usize>(K);
  for (let t: usize = 0; t < 256; t += 32) {
    let kw = k + t, w = W + t;
    let t1: u32;
    t1 = h + S1(e) + (g ^ (e & (f ^ g))) + load<u32>(kw, 0) + load<u32>(w, 0);
    d += t1;
    h = t1 + S0(a) + ((a & b) | (c & (a | b)));
    t1 = g + S1(d) + (f ^ (d & (e ^ f))) + load<u32>(kw, 4) + load<u32>(w, 4);
    c += t1;
    g = t1 + S0(h) + ((h & a) | (b & (h | a)));
    t1 = f + S1(c) + (e ^ (c & (d ^ e))) + load<u32>(kw, 8) + load<u32>(w, 8);
    b += t1;
    f = t1 + S0(g) + ((g & h) | (a & (g | h)));
    t1 = e + S1(b) + (d ^ (b & (c ^ d))) + load<u32>(kw, 12) + load<u32>(w, 12);
    a += t1;
    e = t1 + S0(f) + ((f & g) | (h & (f | g)));
    t1 = d + S1(a) + (c ^ (a & (b ^ c))) + load<u32>(kw, 16) + load<u32>(w, 16);
    h += t1;
    d = t1 + S0(e) + ((e & f) | (g & (e | f)));
    t1 = c + S1(h) + (b ^ (h & (a ^ b))) + load<u32>(kw, 20) + load<u32>(w, 20);
    g += t1;
    c = t1 + S0(d) + ((d & e) | (f & (d | e)));
    t1 = b + S1(g) + (a ^ (g & (h ^ a))) + load<u32>(kw, 24) + load<u32>(w, 24);
    f += t1;
    b = t1 + S0(c) + ((c & d) | (e & (c | d)));
    t1 = a + S1(f) + (h ^ (f & (g ^ h))) + load<u32>(kw, 28) + load<u32>(w, 28);
    e += t1;
    a = t1 + S0(b) + ((b & c) | (d & (b | c)));
  }
  store<u32>(H, load<u32>(H, 0) + a, 0);
  store<u32>(H, load<u32>(H, 4) + b, 4);
  store<u32>(H, load<u32>(H, 8) + c, 8);
  store<u32>(H, load<u32>(H, 12) + d, 12);
  store<u32>(H, load<u32>(H, 16) + e, 16);
  store<u32>(H, load<u32>(H, 20) + f, 20);
  store<u32>(H, load<u32>(H, 24) + g, 24);
  store<u32>(H, load<u32>(H, 28) + h, 28);
}

/** SHA-256 of [p, p + n) into the 32 bytes at `out`: whole blocks in place, the padded tail (§5.1.1) from BLOCK. */
export function sha256(p: usize, n: usize, out: usize): void {
  memory.copy(H, changetype<usize>(H0), 32);
  let bits = <u64>n << 3;
  while (n >= 64) {
    compress(p);
    p += 64;
    n -= 64;
  }
  memory.fill(BLOCK, 0, 128);
  memory.copy(BLOCK, p, n);
  store<u8>(BLOCK + n, 0x80);
  let last: usize = n < 56 ? 56 : 120;
  store<u64>(BLOCK + last, bswap<u64>(bits));
  compress(BLOCK);
  if (last == 120) compress(BLOCK + 64);
  for (let i: usize = 0; i < 8; i++) store<u32>(out + (i << 2), bswap<u32>(load<u32>(H + (i << 2))));
}
