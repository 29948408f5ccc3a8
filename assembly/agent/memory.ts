// clawft's vector memory: texts the agent keeps, found again by meaning, i.e. by the cosine
// similarity of their embeddings (embed.ts), through the HNSW index of assembly/hnsw (the same
// graph and snapshot code as build/hnsw.wasm, in its heap build: see assembly/hnsw/memory.ts).
//
// Files, under workspace/memory/ in $CLAWFT_HOME:
//   memory.jsonl  the record. Line 1: {"_type":"metadata","embedder":NAME,"dim":N,"created":ISO},
//                 written whole when the memory is created; then one memory a line,
//                 {"label":L,"text":"…","time":ISO}, appended whole (one O_APPEND write per add).
//   index.hnsw    the HNSW index over the texts' embeddings, labels = the lines' labels, in
//                 the snapshot format v1 (docs/hnsw-snapshot.md), replaced atomically on save.
//
// The texts are the truth, the index is derived from them: on open, a memory whose line was
// appended but whose index was not saved (a crash between the two) is embedded and indexed
// again, and an indexed label whose line is missing (cut by a crash) is marked deleted, so no
// search returns a memory without its text. A line that is not a whole record is skipped with
// a warning; the next append starts on a fresh line. A snapshot that fails the core's checks
// is an error naming the file, and is never written over: remove it and the next open
// rebuilds the index from memory.jsonl.
//
// Index parameters (docs/memory.md has the measurements): the cosine space (embeddings are
// compared by angle; the core normalises each vector once, at insert, so a search costs one
// dot product per visit); M 16 and efConstruction 200, hnswlib's recommended defaults for
// dimensions 100-1000 (their cost is paid once, when a memory is added); ef 128 at search (at
// least k): over 10,000 memories of random words, the hardest case for this embedding,
// recall@10 is 0.97 where ef 64 gives 0.92, at ~2 ms a query, nothing beside a model call.
// The level generator has a fixed seed, so the same adds build the same index on every host.
//
// The HNSW core keeps its state in globals: one memory is open per process (`Memory.open`
// returns it again).

import { H, COSINE, Q_F32 } from "../hnsw/state";
import { HEAP_BUILD } from "../hnsw/memory";
import { init, resize, addPoint, knn, find, labelOf, isDeleted, setDeleted } from "../hnsw/graph";
import { prepare } from "../hnsw/distance";
import { pop, topKey, topId } from "../hnsw/heap";
import { save as snapshotSave, loadBegin, loadEnd } from "../hnsw/snapshot";
import { INFO, OK, E_SNAPSHOT, E_MEMORY } from "../hnsw/error";
import { JValue, J_NUM, J_OBJ, J_STR, parseJsonBytes, stringify, formatF64 } from "../json";
import { Embedder, HashedNgramEmbedder } from "./embed";
import { Fs, appendFile, mkdirs, readFile, stat, writeFile, writeText } from "./host/fs";
import { Stdin, errLine, out } from "./host/io";
import { isoNow } from "./host/time";
import { EXIT_OK, fail, usage } from "./exit";

/**
 * Links the HNSW core in its heap build (assembly/hnsw/memory.ts): in clawft.wasm it must not lay
 * its regions out above __heap_base, where the managed heap lives. A global, so the core sees it.
 */
// @ts-ignore: decorator
@global export const HNSW_HEAP: bool = true;
if (!HEAP_BUILD) ERROR("the HNSW core is not in its heap build (assembly/hnsw/memory.ts)");

/** Where the memory lives, relative to home. */
export const MEMORY_DIR = "workspace/memory";
/** The record of texts (JSON lines). */
export const TEXTS_FILE = MEMORY_DIR + "/memory.jsonl";
/** The HNSW snapshot of their embeddings. */
export const INDEX_FILE = MEMORY_DIR + "/index.hnsw";

/** Links per element on levels ≥ 1 (level 0: 2·M). */
export const M: u32 = 16;
/** Candidate list size while inserting. */
export const EF_CONSTRUCTION: u32 = 200;
/** Candidate list size while searching (at least k is used). */
export const EF_SEARCH: u32 = 128;
/** Room of a new index; it doubles when full. */
const INITIAL_CAPACITY: u32 = 256;
/** Seed of the level generator (hnswlib's default random_seed). */
const SEED: u64 = 100;
/** Largest index file read: TLSF's largest block, the heap build's limit. */
const INDEX_LIMIT: u64 = 1 << 30;
/** Texts embedded per call of the embedder when adding many. */
const BATCH: i32 = 256;
/** Largest k of a search. */
export const MAX_K: i32 = 10000;

/** Memory.kind: no error. */
export const MEMORY_OK: i32 = 0;
/** A memory file cannot be read or written (the message names it and the errno). */
export const MEMORY_IO: i32 = 1;
/** A memory file is not what it should be (the message names it and the problem); it is left as it is. */
export const MEMORY_CORRUPT: i32 = 2;
/** The memory was built by another embedder, or for another dimension: vectors cannot be mixed. */
export const MEMORY_MISMATCH: i32 = 3;
/** The embedder failed (its own error), or gave vectors of the wrong length or not finite. */
export const MEMORY_EMBED: i32 = 4;
/** A text or k the memory cannot take (a text without words, k out of range). */
export const MEMORY_ARGUMENT: i32 = 5;
/** The index could not grow: wasm memory refused. */
export const MEMORY_FULL: i32 = 6;

/** Names of the core's snapshot reasons R_* (docs/hnsw-snapshot.md, "What load checks"). */
const SNAPSHOT_PROBLEMS: StaticArray<string> = [
  "", "length (truncated or extended)", "magic", "version", "params", "checksum", "graph", "vector", "labels", "quantization (the agent keeps f32 vectors)",
];

/** One search result: the memory's label, its cosine similarity to the query (−1 … 1), its text. */
export class MemoryHit {
  constructor(public label: i32, public score: f64, public text: string) {}
}

/**
 * The vector memory (see the top of this file). Errors: a method that fails returns null, −1,
 * false or an empty result, and sets `Memory.kind` (MEMORY_*) and `Memory.error` (one line
 * naming the file or input and the problem); every call resets them first.
 */
export class Memory {
  /** The embedder of new vectors; set it before the first `open` (the provider's /embeddings one, say). */
  static embedder: Embedder = new HashedNgramEmbedder();
  /** What the last failing call failed on. */
  static error: string = "";
  /** MEMORY_* kind of the last failure, MEMORY_OK when the last call succeeded. */
  static kind: i32 = MEMORY_OK;
  /** The open memory. */
  static current: Memory | null = null;

  /** Embedder name and dimension the memory was built with (from memory.jsonl's metadata). */
  embedderName: string;
  dim: i32;
  /** Labels and texts of the records, in file order; `at` maps a label to its position. */
  labels: u32[] = [];
  texts: string[] = [];
  at: Map<u32, i32> = new Map();
  /** Label of the next memory added. */
  next: u32 = 0;
  /** memory.jsonl exists (with its metadata line). */
  created: bool = false;
  /** memory.jsonl ends inside a line: the next append starts a new line first. */
  torn: bool = false;
  /** Lines of memory.jsonl passed over on open. */
  skipped: i32 = 0;
  /** The index differs from index.hnsw. */
  dirty: bool = false;

  constructor() {
    this.embedderName = Memory.embedder.name;
    this.dim = Memory.embedder.dim;
  }

  /**
   * Opens the memory in workspace/memory/ (home must be open: host/fs.ts openHome), or an
   * empty one when it has no files yet. Null, with `Memory.error` naming the file, when a
   * file cannot be read, memory.jsonl's metadata line is missing, index.hnsw is refused by the
   * core's snapshot checks, or either was built by an embedder other than `Memory.embedder`.
   */
  static open(): Memory | null {
    ok();
    if (Memory.current !== null) return Memory.current;
    let m = new Memory();
    if (!m.readTexts()) return null;
    if (!m.loadIndex()) return null;
    m.reconcile();
    Memory.current = m;
    return m;
  }

  /** Memories stored and searchable. */
  count(): i32 {
    return H.ready ? <i32>(H.count - H.deleted) : 0;
  }

  /** Adds `text` as one memory; returns its label, or −1 (see `addAll`). */
  add(text: string): i32 {
    let r = this.addAll([text]);
    return r === null ? -1 : r[0];
  }

  /**
   * Adds each text as one memory, in order: embeds them (one embedder call), appends their
   * lines to memory.jsonl in one write, then indexes them. Returns their labels, or null:
   * MEMORY_ARGUMENT (a text without words; nothing stored), MEMORY_EMBED, MEMORY_IO (nothing
   * stored), MEMORY_FULL (the texts are stored; the next open indexes them). The index is
   * written by `save`.
   */
  addAll(texts: string[]): i32[] | null {
    ok();
    let vecs = this.embedChecked(texts, true);
    if (vecs === null || !this.reserve(<u32>texts.length) || !this.create()) return null;
    if (<u64>this.next + texts.length > 0x7fffffff) {
      failWith(MEMORY_FULL, "no labels left (labels are 0 … 2^31 − 1)");
      return null;
    }
    let labels = new Array<i32>(texts.length);
    let lines = this.torn ? "\n" : "";
    let time = isoNow();
    for (let i = 0; i < texts.length; i++) {
      labels[i] = <i32>(this.next + <u32>i);
      let rec = JValue.object()
        .set("label", JValue.number(<f64>labels[i]))
        .set("text", JValue.string(texts[i]))
        .set("time", JValue.string(time));
      lines += stringify(rec) + "\n";
    }
    if (!appendFile(TEXTS_FILE, String.UTF8.encode(lines))) {
      failIo("cannot append to", TEXTS_FILE);
      return null;
    }
    this.torn = false;
    for (let i = 0; i < texts.length; i++) {
      let label = <u32>labels[i];
      this.at.set(label, this.texts.length);
      this.labels.push(label);
      this.texts.push(texts[i]);
    }
    this.next += <u32>texts.length;
    for (let i = 0; i < texts.length; i++) {
      if (addPoint(vecs[i].dataStart, <u32>labels[i]) != OK) {
        failWith(MEMORY_FULL, "out of memory indexing memory " + labels[i].toString() + " (its text is stored; the next run indexes it)");
        return null;
      }
      this.dirty = true;
    }
    return labels;
  }

  /**
   * The `k` memories most similar to `query`, best first (fewer when fewer are stored). Empty
   * with `Memory.kind` set when the query cannot be embedded (MEMORY_EMBED) or has no words,
   * or k is not 1 … MAX_K (MEMORY_ARGUMENT).
   */
  search(query: string, k: i32): MemoryHit[] {
    ok();
    let hits: MemoryHit[] = [];
    if (k < 1 || k > MAX_K) {
      failWith(MEMORY_ARGUMENT, "k must be 1 … " + MAX_K.toString() + ", not " + k.toString());
      return hits;
    }
    let vecs = this.embedChecked([query], true);
    if (vecs === null || this.count() == 0) return hits;
    prepare(H.query, vecs[0].dataStart);
    let found = knn(H.query, <u32>k, max<u32>(EF_SEARCH, <u32>k));
    hits = new Array<MemoryHit>(found);
    for (let j = <i32>found; j-- > 0; ) {
      let label = labelOf(topId(H.top));
      let score = 1.0 - <f64>topKey(H.top);
      pop(H.top, <u32>j + 1);
      // Every live label has its text (reconcile); "" would only show a broken invariant.
      hits[j] = new MemoryHit(<i32>label, score, this.at.has(label) ? this.texts[this.at.get(label)] : "");
    }
    return hits;
  }

  /** Writes index.hnsw (atomically) when the index changed since it was read; false on failure (MEMORY_IO). */
  save(): bool {
    ok();
    if (!this.dirty) return true;
    snapshotSave();
    let total: usize = 4;
    for (let i = 0; i < 5; i++) total += <usize>load<u32>(INFO + 24 + (i << 3));
    let buf = new ArrayBuffer(<i32>total);
    let p = changetype<usize>(buf);
    for (let i = 0; i < 5; i++) {
      let len = <usize>load<u32>(INFO + 24 + (i << 3));
      memory.copy(p, <usize>load<u32>(INFO + 20 + (i << 3)), len);
      p += len;
    }
    store<u32>(p, load<u32>(INFO, 60));
    if (!mkdirs(MEMORY_DIR) || !writeFile(INDEX_FILE, buf)) {
      failIo("cannot write", INDEX_FILE);
      return false;
    }
    this.dirty = false;
    return true;
  }

  /** Bytes of memory.jsonl and index.hnsw on disk (0 for a file that does not exist). */
  fileBytes(file: string): u64 {
    let s = stat(file);
    return s === null ? 0 : s.size;
  }

  // ---------------------------------------------------------------- open

  /** Reads memory.jsonl: its metadata, then its records (see the top of this file). */
  private readTexts(): bool {
    let data = readFile(TEXTS_FILE, INDEX_LIMIT);
    if (data === null) {
      if (stat(TEXTS_FILE) !== null) return failIo("cannot read", TEXTS_FILE);
      return true;
    }
    let p = changetype<usize>(data);
    let n = data.byteLength;
    if (n == 0) return true;
    this.torn = load<u8>(p + n - 1) != 10;
    let line = 0;
    let i = 0;
    while (i < n) {
      let end = i;
      while (end < n && load<u8>(p + end) != 10) end++;
      line++;
      let len = end - i;
      if (len > 0 && load<u8>(p + end - 1) == 13) len--;
      let v = parseJsonBytes(p + i, len);
      i = end + 1;
      if (line == 1) {
        if (v === null || v.kind != J_OBJ || v.str("_type") != "metadata" || v.str("embedder").length == 0 || !isDim(v.get("dim"))) {
          return failWith(MEMORY_CORRUPT, TEXTS_FILE + ": line 1 is not its metadata line ({\"_type\":\"metadata\",\"embedder\":…,\"dim\":…})");
        }
        this.embedderName = v.str("embedder");
        this.dim = <i32>v.num("dim");
        this.created = true;
        continue;
      }
      if (len == 0) continue;
      let label = v !== null && v.kind == J_OBJ ? v.get("label") : null;
      let text = v !== null && v.kind == J_OBJ ? v.get("text") : null;
      if (label === null || !isLabel(label) || text === null || text.kind != J_STR) {
        this.skip(line, "is not a whole memory record");
        continue;
      }
      let l = <u32>label.n;
      if (this.at.has(l)) {
        this.skip(line, "repeats label " + l.toString());
        continue;
      }
      this.at.set(l, this.texts.length);
      this.labels.push(l);
      this.texts.push(text.s);
      if (l >= this.next) this.next = l + 1;
    }
    let e = Memory.embedder;
    if (this.created && (this.embedderName != e.name || this.dim != e.dim)) {
      return failWith(
        MEMORY_MISMATCH,
        MEMORY_DIR + " was built with embedder " + this.embedderName + " (dim " + this.dim.toString() +
          "), but the embedder now is " + e.name + " (dim " + e.dim.toString() + "): their vectors cannot be mixed",
      );
    }
    return true;
  }

  private skip(line: i32, why: string): void {
    this.skipped++;
    errLine("clawft: warning: " + TEXTS_FILE + " line " + line.toString() + " " + why + " (torn write?); skipped");
  }

  /** Loads index.hnsw, or sets up an empty index when there is none. */
  private loadIndex(): bool {
    let data = readFile(INDEX_FILE, INDEX_LIMIT);
    if (data === null) {
      if (stat(INDEX_FILE) !== null) return failIo("cannot read", INDEX_FILE);
      if (init(<u32>this.dim, COSINE, M, EF_CONSTRUCTION, INITIAL_CAPACITY, SEED) != OK) {
        return failWith(MEMORY_FULL, "out of memory for an index of dimension " + this.dim.toString());
      }
      H.ef = EF_SEARCH;
      return true;
    }
    if (!this.created) {
      return failWith(MEMORY_CORRUPT, INDEX_FILE + " has no " + TEXTS_FILE + " beside it: its texts are lost (remove it to start afresh)");
    }
    let p = changetype<usize>(data);
    let total = <u32>data.byteLength;
    // The agent writes f32 snapshots only: any other mode (a b1 index without its originals
    // would rank every result at +inf) is refused as a corrupt snapshot.
    let code = loadBegin(total, p, Q_F32);
    if (code == OK) {
      // Segments 1-4 (INFO[7..14]) follow the header in the file (docs/hnsw-snapshot.md).
      let at: usize = 64;
      for (let i = 1; i < 5; i++) {
        let len = <usize>load<u32>(INFO + 24 + (i << 3));
        memory.copy(<usize>load<u32>(INFO + 20 + (i << 3)), p + at, len);
        at += len;
      }
      code = loadEnd(load<u32>(p + total - 4));
    }
    if (code == E_SNAPSHOT) {
      let r = load<u32>(INFO, 12);
      return failWith(
        MEMORY_CORRUPT,
        INDEX_FILE + ": not a valid HNSW snapshot (" + (r < <u32>SNAPSHOT_PROBLEMS.length ? SNAPSHOT_PROBLEMS[r] : r.toString()) +
          "); it is left as it is: remove it to rebuild the index from " + TEXTS_FILE,
      );
    }
    if (code == E_MEMORY) return failWith(MEMORY_FULL, INDEX_FILE + ": out of memory loading it");
    if (code != OK) return failWith(MEMORY_CORRUPT, INDEX_FILE + ": not loadable (HNSW error " + code.toString() + ")");
    if (H.space != COSINE || H.dim != <u32>this.dim) {
      return failWith(
        MEMORY_MISMATCH,
        INDEX_FILE + ": an index of dimension " + H.dim.toString() + " in space " + H.space.toString() +
          ", but " + TEXTS_FILE + " says cosine, dimension " + this.dim.toString(),
      );
    }
    H.ef = EF_SEARCH;
    return true;
  }

  /**
   * Makes the index agree with the texts: indexes the records it lacks (appended, then a crash
   * before the index was saved), marks deleted the labels without a record (their line was
   * torn), and takes the next label past every label in either.
   */
  private reconcile(): void {
    let missing: string[] = [];
    let missingLabels: u32[] = [];
    for (let i = 0; i < this.labels.length; i++) {
      let id = find(this.labels[i]);
      if (id < 0) {
        missing.push(this.texts[i]);
        missingLabels.push(this.labels[i]);
      } else if (isDeleted(<u32>id)) {
        setDeleted(this.labels[i], false);
        this.dirty = true;
      }
    }
    for (let id: u32 = 0; id < H.count; id++) {
      let label = labelOf(id);
      if (label >= this.next) this.next = label + 1;
      if (!this.at.has(label) && !isDeleted(id)) {
        setDeleted(label, true);
        this.dirty = true;
      }
    }
    if (missing.length == 0) return;
    let vecs = this.embedChecked(missing, false);
    if (vecs === null || !this.reserve(<u32>missing.length)) {
      errLine("clawft: warning: " + missing.length.toString() + " memories are not indexed: " + Memory.error);
      ok();
      return;
    }
    for (let i = 0; i < missing.length; i++) {
      if (vecs[i].length == 0) {
        errLine("clawft: warning: memory " + missingLabels[i].toString() + " has no words to embed; not indexed");
        continue;
      }
      if (addPoint(vecs[i].dataStart, missingLabels[i]) != OK) break;
      this.dirty = true;
    }
  }

  // ---------------------------------------------------------------- helpers

  /**
   * Embeds `texts` with Memory.embedder in batches, checking each vector's length, finiteness
   * and that it is not zero (a text without words). With `strict` a zero vector fails the call
   * (MEMORY_ARGUMENT); otherwise it comes back as an empty array. Null on failure.
   */
  private embedChecked(texts: string[], strict: bool): Float32Array[] | null {
    let e = Memory.embedder;
    let out = new Array<Float32Array>(0);
    for (let b = 0; b < texts.length; b += BATCH) {
      let part = texts.slice(b, min(b + BATCH, texts.length));
      let vecs = e.embed(part);
      if (vecs === null) return embedFailure("embedder " + e.name + ": " + e.error);
      if (vecs.length != part.length) return embedFailure("embedder " + e.name + " returned " + vecs.length.toString() + " vectors for " + part.length.toString() + " texts");
      for (let i = 0; i < vecs.length; i++) {
        let v = vecs[i];
        if (v.length != this.dim) {
          return embedFailure("embedder " + e.name + " returned a vector of " + v.length.toString() + " floats, not " + this.dim.toString());
        }
        let sum: f64 = 0;
        for (let j = 0; j < v.length; j++) sum += <f64>unchecked(v[j]) * <f64>unchecked(v[j]);
        if (!isFinite(sum)) return embedFailure("embedder " + e.name + " returned a vector that is not finite");
        if (sum == 0) {
          if (strict) return embedFailure("text " + (b + i + 1).toString() + " has no words to embed: \"" + texts[b + i] + "\"", MEMORY_ARGUMENT);
          v = new Float32Array(0);
        }
        out.push(v);
      }
    }
    return out;
  }

  /** Makes room in the index for `n` more elements (doubling); false with MEMORY_FULL. */
  private reserve(n: u32): bool {
    let need = <u64>H.count + n;
    if (need <= <u64>H.maxElements) return true;
    let cap = max<u64>(<u64>H.maxElements << 1, need);
    if (cap > 0xfffffffe || resize(<u32>cap) != OK) return failWith(MEMORY_FULL, "out of memory growing the index to " + cap.toString() + " memories");
    return true;
  }

  /** Creates workspace/memory/ and memory.jsonl with its metadata line, once. */
  private create(): bool {
    if (this.created) return true;
    if (!mkdirs(MEMORY_DIR)) return failIo("cannot create", MEMORY_DIR);
    let meta = JValue.object()
      .set("_type", JValue.string("metadata"))
      .set("embedder", JValue.string(this.embedderName))
      .set("dim", JValue.number(<f64>this.dim))
      .set("created", JValue.string(isoNow()));
    if (!writeText(TEXTS_FILE, stringify(meta) + "\n")) return failIo("cannot write", TEXTS_FILE);
    this.created = true;
    return true;
  }
}

function ok(): void {
  Memory.kind = MEMORY_OK;
  Memory.error = "";
}

/** Records a failure; returns false. */
function failWith(kind: i32, message: string): bool {
  Memory.kind = kind;
  Memory.error = message;
  return false;
}

/** Records a failure of the embedder, or of its vectors; returns null. */
function embedFailure(message: string, kind: i32 = MEMORY_EMBED): Float32Array[] | null {
  failWith(kind, message);
  return null;
}

/** Records a failure to `what` (cannot read, …) `file`, with the WASI errno; returns false. */
function failIo(what: string, file: string): bool {
  return failWith(MEMORY_IO, Fs.describe(what, file));
}

/** A dimension from JSON: an integer 1 … 65536 (the HNSW core's range). */
function isDim(v: JValue | null): bool {
  return v !== null && v.kind == J_NUM && v.n >= 1 && v.n <= 65536 && Math.floor(v.n) == v.n;
}

/** A label from JSON: an integer 0 … 2^31 − 2. */
function isLabel(v: JValue): bool {
  return v.kind == J_NUM && v.n >= 0 && v.n < 2147483647 && Math.floor(v.n) == v.n;
}

// ---------------------------------------------------------------- command line

/**
 * `text` for one field of a tab-separated line: backslash, tab, LF and CR escaped as \\ \t
 * \n \r (the PostgreSQL text format's escapes), so a result is always one line.
 */
function field(text: string): string {
  let s = "";
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    let esc = c == 92 ? "\\\\" : c == 9 ? "\\t" : c == 10 ? "\\n" : c == 13 ? "\\r" : "";
    if (esc.length == 0) continue;
    s += text.substring(from, i) + esc;
    from = i + 1;
  }
  return from == 0 ? text : s + text.substring(from);
}

/** The result lines of one search: label, score (6 decimals), text. */
function hitLines(hits: MemoryHit[]): string {
  let s = "";
  for (let i = 0; i < hits.length; i++) {
    let h = hits[i];
    s += h.label.toString() + "\t" + formatF64(Math.round(h.score * 1e6) / 1e6) + "\t" + field(h.text) + "\n";
  }
  return s;
}

/** The exit code of a Memory failure: a usage error for bad arguments, else an error. */
function memoryFailure(): i32 {
  return Memory.kind == MEMORY_ARGUMENT ? usage("memory: " + Memory.error) : fail(Memory.error);
}

/** Non-empty lines of stdin (trailing CR removed). */
function stdinLines(): string[] {
  let lines: string[] = [];
  while (true) {
    let line = Stdin.line();
    if (line === null) return lines;
    if (line.trim().length > 0) lines.push(line);
  }
}

/**
 * `clawft.wasm memory …` (args after "memory"):
 *   add [--stdin] TEXT…          each argument (with --stdin, each non-empty line of stdin) one
 *                                memory; prints their labels, one a line
 *   search [-k N] QUERY…         the arguments joined by spaces are the query; prints the k
 *                                (default 5) best as label<TAB>score<TAB>text lines, best first
 *   search [-k N] --stdin        each non-empty line of stdin one query, in one process (for
 *                                benchmarks); each query's lines are followed by an empty line
 *   stats                        memories, embedder, dimension, index parameters, bytes on disk
 * Scores are cosine similarities rounded to 6 decimals; texts escape \ tab LF CR as \\ \t \n \r.
 * Returns the exit code: usage errors 2 (main.ts usage), errors 1 (main.ts fail).
 */
export function memoryCommand(args: string[]): i32 {
  if (args.length == 0) return usage("memory needs add, search or stats");
  let sub = args[0];
  let k = 5;
  let fromStdin = false;
  let words: string[] = [];
  for (let i = 1; i < args.length; i++) {
    let a = args[i];
    if (a == "--") {
      for (let j = i + 1; j < args.length; j++) words.push(args[j]);
      break;
    } else if (a == "--stdin" && sub != "stats") fromStdin = true;
    else if (a == "-k" && sub == "search") {
      if (i + 1 >= args.length) return usage("memory search: -k needs a number");
      let v = args[++i];
      let n: i64 = 0;
      for (let j = 0; j < v.length && n <= MAX_K; j++) {
        let c = v.charCodeAt(j);
        n = c >= 48 && c <= 57 ? n * 10 + (c - 48) : MAX_K + 1;
      }
      if (v.length == 0 || n < 1 || n > MAX_K) return usage("memory search: -k takes 1 … " + MAX_K.toString() + ", not \"" + v + "\"");
      k = <i32>n;
    } else if (a.startsWith("-") && a.length > 1) return usage("memory " + sub + ": unknown option " + a);
    else words.push(a);
  }
  if (sub == "add") {
    if (fromStdin) {
      let lines = stdinLines();
      for (let i = 0; i < lines.length; i++) words.push(lines[i]);
    }
    if (words.length == 0) return usage("memory add needs TEXT (or --stdin)");
    let m = Memory.open();
    if (m === null) return fail(Memory.error);
    let printed = "";
    for (let b = 0; b < words.length; b += BATCH) {
      let labels = m.addAll(words.slice(b, min(b + BATCH, words.length)));
      if (labels === null) {
        // Keep the memories added before the failure (their labels are printed).
        let code = memoryFailure();
        out(printed);
        if (!m.save()) errLine("clawft: " + Memory.error);
        return code;
      }
      for (let i = 0; i < labels.length; i++) printed += labels[i].toString() + "\n";
    }
    if (!m.save()) return fail(Memory.error);
    out(printed);
    return EXIT_OK;
  }
  if (sub == "search") {
    if (fromStdin == (words.length > 0)) return usage("memory search needs QUERY or --stdin (one of them)");
    let m = Memory.open();
    if (m === null) return fail(Memory.error);
    if (!fromStdin) {
      let hits = m.search(words.join(" "), k);
      if (Memory.kind != MEMORY_OK) return memoryFailure();
      out(hitLines(hits));
      return EXIT_OK;
    }
    while (true) {
      let q = Stdin.line();
      if (q === null) return EXIT_OK;
      if (q.trim().length == 0) continue;
      let hits = m.search(q, k);
      if (Memory.kind != MEMORY_OK) return memoryFailure();
      out(hitLines(hits) + "\n");
    }
  }
  if (sub == "stats") {
    if (words.length > 0) return usage("memory stats takes no arguments");
    let m = Memory.open();
    if (m === null) return fail(Memory.error);
    let texts = m.fileBytes(TEXTS_FILE);
    let index = m.fileBytes(INDEX_FILE);
    let names = ["count", "embedder", "dim", "space", "M", "efConstruction", "ef", "maxElements", "deleted", "bytes", "memory.jsonl", "index.hnsw"];
    let values = [
      m.count().toString(), m.embedderName, m.dim.toString(), "cosine", H.M.toString(), H.efConstruction.toString(), H.ef.toString(),
      H.maxElements.toString(), H.deleted.toString(), (texts + index).toString(), texts.toString(), index.toString(),
    ];
    let s = "";
    for (let i = 0; i < names.length; i++) s += names[i] + "\t" + values[i] + "\n";
    out(s);
    return EXIT_OK;
  }
  return usage("memory: unknown subcommand '" + sub + "' (add, search or stats)");
}
