/**
 * The `Storage` conformance suite: the behaviour every adapter shares, as plain async cases
 * with their own assertions (no vitest), so the same cases run in Node (storage.test.ts
 * registers one vitest test per case and adapter) and in Chromium (the page
 * test/fixtures/storage/main.ts runs them against IndexedDB and localStorage).
 * @module
 */
import { StorageKeyError, StorageValueTooLargeError, type Storage } from "../../src/storage/index.js";

/** What a case gets: the storage under test, and a way to open a second instance on the same backend. */
export interface ConformanceContext {
  storage: Storage;
  /** A new instance on the same data (same directory, server, database); closed by the case. */
  openAnother(): Promise<Storage>;
}

/** One conformance case. */
export interface ConformanceCase {
  name: string;
  run(ctx: ConformanceContext): Promise<void>;
}

/** Thrown when a case's expectation fails. */
export class ConformanceError extends Error {
  override name = "ConformanceError";
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new ConformanceError(what);
}

function show(v: Uint8Array | undefined): string {
  if (!v) return "undefined";
  return v.length > 16 ? `${v.length} bytes` : `[${[...v].join(",")}]`;
}

function same(a: Uint8Array | undefined, b: Uint8Array | undefined, what: string): void {
  let ok = a !== undefined && b !== undefined && a.length === b.length;
  if (ok) for (let i = 0; i < a!.length; i++) if (a![i] !== b![i]) ok = false;
  if (a === undefined && b === undefined) ok = true;
  check(ok, `${what}: got ${show(a)}, expected ${show(b)}`);
}

async function rejects(p: Promise<unknown>, type: abstract new (...args: never[]) => Error, what: string): Promise<Error> {
  try {
    await p;
  } catch (err) {
    check(err instanceof type, `${what}: rejected with ${(err as Error)?.name}: ${(err as Error)?.message}, expected ${type.name}`);
    return err as Error;
  }
  throw new ConformanceError(`${what}: resolved, expected ${type.name}`);
}

const bytes = (...v: number[]) => new Uint8Array(v);

/** Deterministic pseudo-random bytes (xorshift32), so a large value is not all zeros. */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Every case, in the order they run. */
export const CONFORMANCE: readonly ConformanceCase[] = [
  {
    name: "stores, reads back, replaces and deletes bytes",
    async run({ storage: s }) {
      same(await s.get("a/1"), undefined, "before");
      await s.set("a/1", bytes(1, 2, 3));
      same(await s.get("a/1"), bytes(1, 2, 3), "stored");
      await s.set("a/1", bytes(9));
      same(await s.get("a/1"), bytes(9), "replaced");
      await s.delete("a/1");
      same(await s.get("a/1"), undefined, "deleted");
      await s.delete("a/1"); // missing key: no error
    },
  },
  {
    name: "copies values in and out",
    async run({ storage: s }) {
      const v = bytes(1, 2);
      await s.set("copy", v);
      v[0] = 7;
      const out = (await s.get("copy"))!;
      check(out[0] === 1, "the caller's buffer changed the stored value");
      out[1] = 7;
      check((await s.get("copy"))![1] === 2, "a returned buffer aliases the stored value");
    },
  },
  {
    name: "keeps empty values and every byte value exactly",
    async run({ storage: s }) {
      await s.set("empty", new Uint8Array(0));
      same(await s.get("empty"), new Uint8Array(0), "empty value");
      const all = new Uint8Array(256).map((_, i) => i);
      await s.set("bin", all);
      same(await s.get("bin"), all, "bytes 0..255");
      for (const n of [1, 2, 3, 14, 15, 16, 17, 29, 30, 31]) {
        const v = noise(n, n);
        await s.set(`len/${n}`, v);
        same(await s.get(`len/${n}`), v, `${n} bytes`);
      }
    },
  },
  {
    name: "lists keys by prefix, including awkward characters",
    async run({ storage: s }) {
      const keys = ["p/x", "p/y.z", "p/../etc", "p/*?[]", "p/%_\\", "q/1", "p/€", "p/\u{1F600}"];
      for (const k of keys) await s.set(k, bytes(1));
      const got = (await s.keys("p/")).sort();
      const want = keys.filter((k) => k.startsWith("p/")).sort();
      check(JSON.stringify(got) === JSON.stringify(want), `keys("p/") = ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
      check((await s.keys("zzz")).length === 0, "keys of an unused prefix");
      check((await s.keys("p/%")).length === 1, "a prefix with % matched more than itself");
    },
  },
  {
    name: "rejects empty keys with a typed error",
    async run({ storage: s }) {
      await rejects(s.set("", bytes()), StorageKeyError, "set('')");
      await rejects(s.get(""), StorageKeyError, "get('')");
    },
  },
  {
    name: "commits several changes at once; the last change of a key wins; a bad change writes nothing",
    async run({ storage: s }) {
      if (!s.commit) throw new ConformanceError("adapter has no commit");
      await s.set("c/gone", bytes(1));
      await s.commit([
        ["c/a", bytes(1)],
        ["c/b", bytes(2)],
        ["c/a", bytes(3)],
        ["c/gone", null],
        ["c/b", null],
        ["c/b", bytes(4)],
      ]);
      same(await s.get("c/a"), bytes(3), "c/a");
      same(await s.get("c/b"), bytes(4), "c/b");
      same(await s.get("c/gone"), undefined, "c/gone");
      await rejects(s.commit([["c/a", bytes(5)], ["", bytes(1)]]), StorageKeyError, "commit with an empty key");
      await rejects(s.commit([["c/a", bytes(5)], ["c/big", new Uint8Array(s.maxValueBytes! + 1)]]), StorageValueTooLargeError, "commit with a value past the limit");
      same(await s.get("c/a"), bytes(3), "c/a after the refused commits");
      same(await s.get("c/big"), undefined, "c/big after the refused commit");
      await s.commit([]);
    },
  },
  {
    name: "stores a value at the size limit and refuses one byte more with a typed error, keeping the old value",
    async run({ storage: s }) {
      const limit = s.maxValueBytes;
      check(typeof limit === "number" && limit > 0, `maxValueBytes is ${limit}`);
      // Room for the largest value: whatever earlier cases left is removed (quota-bound adapters).
      for (const k of await s.keys()) await s.delete(k);
      const big = noise(limit!, 7);
      await s.set("limit", big);
      same(await s.get("limit"), big, "the value at the limit");
      const err = await rejects(s.set("limit", new Uint8Array(limit! + 1)), StorageValueTooLargeError, "a value one byte past the limit");
      check((err as StorageValueTooLargeError).limit === limit, "the error names the limit");
      same(await s.get("limit"), big, "the old value after the refused write");
      await s.delete("limit");
    },
  },
  {
    name: "concurrent writers on two instances: every write lands whole, and one of the racing values wins",
    async run({ storage: a, openAnother }) {
      const b = await openAnother();
      try {
        const writes: Array<Promise<void>> = [];
        const racing: Uint8Array[] = [];
        for (let i = 0; i < 40; i++) {
          const own = noise(64 + i, 100 + i);
          writes.push((i % 2 ? a : b).set(`cw/${i}`, own));
          const shared = noise(1000 + i, 500 + i);
          racing.push(shared);
          writes.push((i % 2 ? b : a).set("cw/shared", shared));
          if (a.commit && b.commit && i % 10 === 0) writes.push((i % 20 ? a : b).commit!([[`cw/c${i}`, bytes(i)], [`cw/c${i + 1}`, bytes(i + 1)]]));
        }
        await Promise.all(writes);
        for (let i = 0; i < 40; i++) same(await b.get(`cw/${i}`), noise(64 + i, 100 + i), `cw/${i} read through the other instance`);
        if (a.commit && b.commit) for (let i = 0; i < 40; i += 10) same(await a.get(`cw/c${i + 1}`), bytes(i + 1), `cw/c${i + 1}`);
        const winner = await a.get("cw/shared");
        check(
          racing.some((r) => r.length === winner?.length && r.every((x, j) => x === winner[j])),
          `cw/shared holds ${show(winner)}, not one of the written values`,
        );
        same(await b.get("cw/shared"), winner, "both instances see the same winner");
        const listed = new Set(await b.keys("cw/"));
        for (let i = 0; i < 40; i++) check(listed.has(`cw/${i}`), `keys() misses cw/${i}`);
      } finally {
        if (b !== a) await b.close();
      }
    },
  },
];
