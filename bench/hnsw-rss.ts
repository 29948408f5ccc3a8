/**
 * `tsx bench/hnsw-rss.ts <n> <dim> <space>`: builds an hnswlib-node index of the benchmark's
 * data in a fresh process and prints the resident-memory growth per vector. A fresh process,
 * because in the benchmark's own process freed native memory of earlier indexes is reused and
 * hides the growth. Run by hnsw.bench.ts.
 */
import mod from "hnswlib-node";
import { gaussianMixture, type DataSpace } from "./hnsw-data.js";

const [n, dim] = [Number(process.argv[2]), Number(process.argv[3])];
const space = process.argv[4] as DataSpace;
const { data } = gaussianMixture({ n, dim, seed: 7 });
const vectors = Array.from({ length: n }, (_, i) => Array.from(data.subarray(i * dim, i * dim + dim)));
const { HierarchicalNSW } = (mod as unknown as { default?: typeof mod }).default ?? mod;
// Collect first and after (run with --expose-gc): otherwise V8 settling its own heap during
// the build (the input arrays above) moves RSS by as much as the index itself.
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
gc();
const before = process.memoryUsage().rss;
const index = new HierarchicalNSW(space, dim);
index.initIndex(n, 16, 200, 100);
for (const [i, v] of vectors.entries()) index.addPoint(v, i);
gc();
console.log(String((process.memoryUsage().rss - before) / n));
if (vectors.length !== n) throw new Error("unreachable: keeps the input arrays alive until after the measure");
