/**
 * The playground's vector search panel: the project's own sentences (docs and source
 * comments, split at build time) embedded with the agent's hashed n-gram embedding
 * (web/embed.ts, wasm), indexed by HNSW in a Worker (clawft/hnsw/worker) and kept in
 * IndexedDB, so a reload restores the index instead of rebuilding it. Each search shows the
 * Worker's latency, the brute-force scan's on this thread, and the recall@k of HNSW against it.
 * @module
 */
import { IndexedDbStorage } from "../../src/storage/indexeddb.js";
import { WorkerIndex, createWorkerIndex } from "../../src/hnsw/worker.js";
import { DEFAULT_DIM, HASHED_NGRAM, loadEmbedder, type Embedder } from "../embed.js";

/** Results shown per search. */
const K = 10;

/** One search, as the panel shows it (and tests read it). */
export interface SearchOutcome {
  query: string;
  /** HNSW's labels (sentence indices), nearest first. */
  labels: number[];
  /** Their cosine distances. */
  distances: number[];
  /** The exact k nearest by brute force. */
  exact: number[];
  /** |labels ∩ exact| / k. */
  recall: number;
  /** Milliseconds for the Worker's search (round trip) and the brute-force scan. */
  hnswMs: number;
  bruteMs: number;
}

/** What the panel exposes on `window.playground.search`. */
export interface SearchPanel {
  /** Resolves once the index is ready: restored from IndexedDB or built now. */
  ready: Promise<{ restored: boolean; size: number; buildMs: number }>;
  /** Runs a search as the search box does. */
  query(text: string): Promise<SearchOutcome>;
}

/** The corpus: the project's prose sentences, each with the file it came from. */
type Sentences = Array<{ text: string; doc: string }>;

/** IndexedDB key of the saved index: changes whenever the corpus or the embedding would. */
function storageKey(sentences: Sentences): string {
  let h = 0x811c9dc5;
  for (const s of sentences) for (let i = 0; i < s.text.length; i++) h = Math.imul(h ^ s.text.charCodeAt(i), 0x01000193);
  return `docs-${HASHED_NGRAM}-${DEFAULT_DIM}-${sentences.length}-${(h >>> 0).toString(16)}`;
}

/** The exact k nearest rows of `vectors` (unit vectors) to `q` by cosine distance. */
function bruteForce(vectors: Float32Array, q: Float32Array, k: number): number[] {
  const dim = q.length;
  const n = vectors.length / dim;
  const best: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    let dot = 0;
    for (let j = 0, o = i * dim; j < dim; j++) dot += vectors[o + j]! * q[j]!;
    const d = 1 - dot;
    if (best.length < k || d < best[best.length - 1]![0]) {
      best.push([d, i]);
      best.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      if (best.length > k) best.pop();
    }
  }
  return best.map((b) => b[1]);
}

/** Fills `el` with the panel and starts loading; see {@link SearchPanel}. */
export function mountSearchPanel(el: HTMLElement): SearchPanel {
  el.innerHTML = `
<h2>Vector search <small>HNSW in a Worker · <span class="count">the</span> sentences of clawft's docs and sources · ${HASHED_NGRAM} (wasm), dim ${DEFAULT_DIM}</small></h2>
<form class="row">
  <input name="q" value="how does the relay persist state" aria-label="search text">
  <button type="submit">search</button>
</form>
<p class="status" role="status">loading…</p>
<p class="metrics"></p>
<ol class="hits"></ol>`;
  const form = el.querySelector("form")!;
  const input = el.querySelector<HTMLInputElement>("input[name=q]")!;
  const status = el.querySelector<HTMLElement>(".status")!;
  const metrics = el.querySelector<HTMLElement>(".metrics")!;
  const hits = el.querySelector<HTMLOListElement>(".hits")!;

  let embedder: Embedder;
  let vectors: Float32Array | undefined;
  let index: WorkerIndex;
  let sentences: Sentences = [];
  let texts: string[] = [];

  const ready = (async () => {
    const t0 = performance.now();
    // The corpus is its own chunk (~0.5 MB): the page shows before it arrives.
    sentences = (await import("virtual:clawft-doc-sentences")).default;
    texts = sentences.map((s) => s.text);
    el.querySelector(".count")!.textContent = sentences.length.toLocaleString();
    embedder = await loadEmbedder();
    const worker = new Worker(new URL("../../workers/hnsw.worker.ts", import.meta.url), { type: "module" });
    const storage = new IndexedDbStorage("clawft-playground", "hnsw");
    const key = storageKey(sentences);
    const saved = await storage.get(key);
    const restored = saved !== undefined;
    if (restored) {
      index = new WorkerIndex(worker);
      await index.load(saved);
    } else {
      status.textContent = `embedding and indexing ${texts.length} sentences…`;
      vectors = embedder.embedAll(texts, DEFAULT_DIM);
      index = await createWorkerIndex(worker, { dim: DEFAULT_DIM, maxElements: texts.length, space: "cosine", seed: 7 });
      await index.addBatch(vectors, Array.from(texts, (_, i) => i));
      await index.saveTo(storage, key);
    }
    const size = await index.size;
    const buildMs = performance.now() - t0;
    status.textContent = restored
      ? `index of ${size} sentences restored from IndexedDB in ${buildMs.toFixed(0)} ms`
      : `index of ${size} sentences built in ${buildMs.toFixed(0)} ms and saved to IndexedDB`;
    return { restored, size, buildMs };
  })();
  ready.catch((err: Error) => (status.textContent = `failed: ${err.message}`));

  async function query(text: string): Promise<SearchOutcome> {
    await ready;
    const q = embedder.embed(text, DEFAULT_DIM);
    const t0 = performance.now();
    const r = await index.search(q, K, { ef: 64 });
    const hnswMs = performance.now() - t0;
    vectors ??= embedder.embedAll(texts, DEFAULT_DIM); // the brute-force baseline's own copy
    const t1 = performance.now();
    const exact = bruteForce(vectors, q, K);
    const bruteMs = performance.now() - t1;
    const labels = Array.from(r.labels);
    const recall = labels.filter((l) => exact.includes(l)).length / K;
    return { query: text, labels, distances: Array.from(r.distances), exact, recall, hnswMs, bruteMs };
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    query(input.value).then(
      (o) => {
        metrics.textContent = `HNSW (Worker, round trip) ${o.hnswMs.toFixed(2)} ms · brute force ${o.bruteMs.toFixed(2)} ms · recall@${K} ${o.recall.toFixed(2)}`;
        hits.replaceChildren(
          ...o.labels.map((l, i) => {
            const li = document.createElement("li");
            li.textContent = `${texts[l]} `;
            const small = document.createElement("small");
            small.textContent = `${sentences[l]!.doc} · ${o.distances[i]!.toFixed(3)}${o.exact.includes(l) ? "" : " · not in the exact top 10"}`;
            li.appendChild(small);
            return li;
          }),
        );
      },
      (err: Error) => (metrics.textContent = `search failed: ${err.message}`),
    );
  });
  return { ready, query };
}
