// The agent's hashed n-gram text embedding (assembly/agent/embed.ts, `hashed-ngram-v1`,
// docs/memory.md) as a small raw-ABI core for hosts that need the vectors without the agent:
// the playground embeds its sentences and queries with it, so its vectors are the ones
// clawft.wasm's memory would make. The algorithm lives in assembly/agent/embed.ts only.
//
// ABI: `input(bytes) -> ptr` returns a buffer of at least `bytes` bytes (valid until the next
// `input`); the host writes UTF-8 there and calls `embed(bytes, dim) -> ptr`, which returns
// the address of `dim` f32 (little-endian; valid until the next call), L2 norm 1, all zero
// for a text without tokens. `dim` must be ≥ 1 (0 when it is not).

import { hashedNgram } from "../agent/embed";

let inputBuf = new ArrayBuffer(0);
let lastOut: Float32Array = new Float32Array(0);

/** A buffer of at least `bytes` bytes for the next text's UTF-8. */
export function input(bytes: i32): usize {
  if (bytes > inputBuf.byteLength) inputBuf = new ArrayBuffer(bytes);
  return changetype<usize>(inputBuf);
}

/** Embeds the UTF-8 text of `bytes` bytes in the input buffer into `dim` f32; their address, or 0 for dim < 1. */
export function embed(bytes: i32, dim: i32): usize {
  if (dim < 1 || bytes < 0 || bytes > inputBuf.byteLength) return 0;
  const text = String.UTF8.decodeUnsafe(changetype<usize>(inputBuf), <usize>bytes);
  lastOut = hashedNgram(text, dim); // held in a global: the collector keeps it until the next call
  return lastOut.dataStart;
}
