/**
 * A reproducible CLP workload for determinism tests and benchmarks: a declarative contract
 * that touches every op kind (nested sets, deletes, push, splice, filter, arithmetic that
 * makes NaN, non-ASCII strings), driven by a seeded PRNG.
 */
import { createContract, createRuntime, type Contract, type Runtime } from "../../src/clp/index.js";

/** The workload's contract (rules only, so replay and commits run entirely in wasm). */
export function workloadContract(): Contract {
  const kind = (k: string) => ({ "==": [{ var: "intent.payload.kind" }, k] });
  const key = { concat: ["items.", { var: "intent.payload.key" }] };
  return createContract({
    intents: { op: { inputs: { kind: "string", key: "string?", value: "any?", n: "number?", count: "number?" } } },
    guards: [{ name: "no_bad", deny: kind("bad") }],
    transitions: {
      set: { when: kind("set"), effects: [{ set: [key, { var: "intent.payload.value" }] }] },
      del: { when: kind("del"), effects: [{ delete: key }] },
      push: { when: kind("push"), effects: [{ push: ["log", { var: "intent.payload.value" }] }] },
      splice: { when: kind("splice"), effects: [{ splice: ["log", { var: "intent.payload.n" }, { var: "intent.payload.count" }] }] },
      filter: { when: kind("filter"), effects: [{ filter: ["log", { "!=": [{ var: "item" }, { var: "intent.payload.value" }] }] }] },
      count: {
        when: kind("count"),
        effects: { "stats.count": { "+": [{ var: ["state.stats.count", 0] }, { var: "intent.payload.n" }] }, "stats.ratio": { "/": [{ var: ["state.stats.count", 0] }, { var: "intent.payload.n" }] } },
      },
    },
  });
}

/** Mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The i-th payload of the workload. */
export function workloadPayload(rand: () => number): Record<string, unknown> {
  const r = rand();
  const key = `k${Math.floor(rand() * 40)}`;
  const words = ["αβγ", "naïve", "日本", "x", "😀", ""];
  const value = [Math.floor(rand() * 1000), rand() * 1e6, words[Math.floor(rand() * words.length)], { a: [1, "b"], n: null }, true][Math.floor(rand() * 5)];
  if (r < 0.3) return { kind: "set", key, value };
  if (r < 0.4) return { kind: "del", key };
  if (r < 0.65) return { kind: "push", value };
  if (r < 0.75) return { kind: "splice", n: Math.floor(rand() * 8) - 2, count: Math.floor(rand() * 6) };
  if (r < 0.8) return { kind: "filter", value };
  if (r < 0.97) return { kind: "count", n: Math.floor(rand() * 5) }; // n = 0 makes ±Infinity and NaN
  return { kind: "bad" };
}

/** Runs `n` intents of the workload on a fresh runtime (denied or inapplicable ones, e.g. a splice before the first push, are skipped). */
export function runWorkload(n: number, seed = 42): Runtime {
  const rt = createRuntime(workloadContract(), undefined, { now: () => 1_700_000_000_000 });
  const rand = prng(seed);
  for (let i = 0; i < n; i++) {
    rt.dispatch("op", workloadPayload(rand));
    try {
      rt.commit();
    } catch (e) {
      if ((e as Error).name !== "GuardDeniedError" && (e as Error).name !== "EffectError") throw e;
    }
  }
  return rt;
}
