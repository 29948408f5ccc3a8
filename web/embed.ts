/**
 * The hashed n-gram text embedding (`hashed-ngram-v1`, docs/memory.md) through its wasm core
 * (build/embed.wasm, assembly/embed/index.ts): the same vectors clawft.wasm's memory makes,
 * computed by the same AssemblyScript, never re-implemented here.
 * @module
 */
import { instantiateCore, type CoreExports, type WasmSource } from "../src/core/loader.js";

/** The embed core's exports (assembly/embed/index.ts). */
interface EmbedExports extends CoreExports {
  input(bytes: number): number;
  embed(bytes: number, dim: number): number;
}

/** Name of the embedding, as the agent's memory records it. */
export const HASHED_NGRAM = "hashed-ngram-v1";

/** The agent's default dimension (assembly/agent/embed.ts DEFAULT_DIM). */
export const DEFAULT_DIM = 384;

/** Embeds texts with one instance of the core. */
export interface Embedder {
  /** `text`'s vector: `dim` f32, L2 norm 1 (all zero without tokens). @throws RangeError for dim < 1 */
  embed(text: string, dim?: number): Float32Array;
  /** Many texts into one Float32Array of length texts.length × dim, row by row. */
  embedAll(texts: readonly string[], dim?: number): Float32Array;
}

/**
 * Loads the embed core.
 * @param source where the wasm is; defaults to build/embed.wasm beside this project (bundlers copy it)
 * @throws Error when the module cannot be fetched or compiled
 */
export async function loadEmbedder(source?: WasmSource): Promise<Embedder> {
  const x = await instantiateCore<EmbedExports>(() => new URL("../build/embed.wasm", import.meta.url), source);
  const utf8 = new TextEncoder();
  const into = (text: string, dim: number, out: Float32Array, at: number) => {
    if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`dim must be an integer ≥ 1, got ${dim}`);
    const bytes = utf8.encode(text);
    const ptr = x.input(bytes.length);
    new Uint8Array(x.memory.buffer, ptr, bytes.length).set(bytes);
    const v = x.embed(bytes.length, dim);
    out.set(new Float32Array(x.memory.buffer, v, dim), at);
  };
  return {
    embed(text, dim = DEFAULT_DIM) {
      const out = new Float32Array(dim);
      into(text, dim, out, 0);
      return out;
    },
    embedAll(texts, dim = DEFAULT_DIM) {
      const out = new Float32Array(texts.length * dim);
      texts.forEach((t, i) => into(t, dim, out, i * dim));
      return out;
    },
  };
}
