// SHA-256 (FIPS 180-4, §6.2) over linear memory, for the event log's hash chain and snapshot
// checksums. The npm package @chainsafe/as-sha256 ships only compiled wasm (no AssemblyScript
// sources), and wasm-crypto drags in 130 KB of Ed25519 tables, so the core carries this one
// (verified against node:crypto by test/clp/formats.test.ts).

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

/** Hash state H0..H7 (8 words), message schedule W (64 words) and the last-block buffer. */
const H: usize = memory.data(32, 4);
const W: usize = memory.data(256, 4);
const BLOCK: usize = memory.data(128, 4);

/** Initial hash value H(0) (FIPS 180-4 §5.3.3). */
const H0: StaticArray<u32> = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/** Compresses one 64-byte block at `p` into H (§6.2.2). */
function compress(p: usize): void {
  for (let t: usize = 0; t < 16; t++) store<u32>(W + (t << 2), bswap<u32>(load<u32>(p + (t << 2))));
  for (let t: usize = 16; t < 64; t++) {
    let w15 = load<u32>(W + ((t - 15) << 2));
    let w2 = load<u32>(W + ((t - 2) << 2));
    let s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
    let s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
    store<u32>(W + (t << 2), load<u32>(W + ((t - 16) << 2)) + s0 + load<u32>(W + ((t - 7) << 2)) + s1);
  }
  let a = load<u32>(H, 0), b = load<u32>(H, 4), c = load<u32>(H, 8), d = load<u32>(H, 12);
  let e = load<u32>(H, 16), f = load<u32>(H, 20), g = load<u32>(H, 24), h = load<u32>(H, 28);
  let k = changetype<usize>(K);
  for (let t: usize = 0; t < 64; t++) {
    let t1 = h + (rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25)) + ((e & f) ^ (~e & g)) +
      load<u32>(k + (t << 2)) + load<u32>(W + (t << 2));
    let t2 = (rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1;
    d = c; c = b; b = a; a = t1 + t2;
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
