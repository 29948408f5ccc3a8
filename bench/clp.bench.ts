/**
 * CLP throughput: commits per second of one counter contract (dispatch + commit, with a
 * guard) written three ways, in the same run — declarative rules (evaluated in wasm), the
 * same contract with JavaScript closures (on the wasm engine), and the closures on a
 * plain-TypeScript v0.1-style engine (bench/clp-reference.ts, the peer) — and the rules
 * committed with `commitMany` (200 intents a call; the peer has no batch, so it runs its
 * loop). Every clawft commit is a hash-chained event with its audit entry. Then the replay
 * of 100,000 events from an event log (hash chain verified, state rebuilt), in wasm.
 */
import { createContract, createRuntime, replayStateHash, ClpCore, type Context } from "../src/clp/index.js";
import { ReferenceRuntime } from "./clp-reference.js";
import { compare, fmt, median, table } from "./util.js";
import { runWorkload } from "../test/helpers/clp-workload.js";
import { counterRules } from "../examples/counter/contract.js";

const N = 200;

const declarative = () => createRuntime(counterRules);

const closures = {
  intents: { increment: { inputs: { amount: "number?" } } },
  guards: [{ name: "no_negative_increment", deny: (ctx: Context) => ctx.intent.payload.amount < 0 }],
  transitions: {
    applyIncrement: {
      when: (ctx: Context) => ctx.intent.complete,
      effects: (ctx: Context) => ({ count: (ctx.state.count ?? 0) + (ctx.intent.payload.amount ?? 1) }),
    },
  },
};

/** `N` commits through `commitMany`, one call. */
function many(rt: ReturnType<typeof createRuntime>): () => void {
  const intents = Array.from({ length: N }, () => ["increment", { amount: 1 }] as [string, Record<string, unknown>]);
  return () => void rt.commitMany(intents);
}

/** `N` commits on a runtime-like object. */
function loop(rt: { dispatch(n: string, p: Record<string, unknown>): void; commit(): void }): () => void {
  return () => {
    for (let i = 0; i < N; i++) {
      rt.dispatch("increment", { amount: 1 });
      rt.commit();
    }
  };
}

/**
 * CPU time (user + system, µs) per commit of `commits` commits made by `step` (which makes
 * `per` commits a call), after a warm-up: less swayed than wall time by other processes on a
 * shared machine.
 */
function cpuPerCommit(step: () => void, per: number, commits = 20_000): number {
  for (let i = 0; i < 2_000 / per; i++) step();
  const t = process.cpuUsage();
  for (let i = 0; i < commits / per; i++) step();
  const u = process.cpuUsage(t);
  return (u.user + u.system) / commits;
}

export default async function run(): Promise<void> {
  const decl = declarative();
  const js = createRuntime(createContract(closures));
  const ref = new ReferenceRuntime(closures);
  // memory of a long run: the audit logs grow; start each contender fresh per comparison
  const a = compare(loop(decl), loop(ref), N);
  const b = compare(loop(js), loop(ref), N);
  const c = compare(many(declarative()), loop(ref), N);
  console.log("Counter contract, dispatch + commit, commits/s (medians of 9 alternating rounds; shared 2-core machine):\n");
  table(
    ["engine", "commits/s", "peer (v0.1-style TS engine) commits/s", "ratio to peer"],
    [
      ["clawft, declarative rules (wasm)", fmt(a.a), fmt(a.b), `${fmt(a.ratio, 2)}×`],
      ["clawft, JavaScript closures", fmt(b.a), fmt(b.b), `${fmt(b.ratio, 2)}×`],
      [`clawft, declarative rules, commitMany (${N} a call)`, fmt(c.a), fmt(c.b), `${fmt(c.ratio, 2)}×`],
    ],
  );

  // CPU time per commit, the four contenders in turn, 5 rounds, medians
  const one = (rt: { dispatch(n: string, p: Record<string, unknown>): void; commit(): void }) => () => {
    rt.dispatch("increment", { amount: 1 });
    rt.commit();
  };
  const contenders: Array<[string, () => [() => void, number]]> = [
    ["clawft, declarative rules (wasm)", () => [one(declarative()), 1]],
    ["clawft, JavaScript closures", () => [one(createRuntime(createContract(closures))), 1]],
    [`clawft, declarative rules, commitMany (${N} a call)`, () => [many(declarative()), N]],
    ["peer (v0.1-style TS engine)", () => [one(new ReferenceRuntime(closures)), 1]],
  ];
  const cpu = contenders.map(() => [] as number[]);
  for (let r = 0; r < 5; r++) {
    contenders.forEach(([, make], i) => {
      const [step, per] = make();
      cpu[i]!.push(cpuPerCommit(step, per));
    });
  }
  const peerCpu = median(cpu[3]!);
  console.log("\nCPU time per commit (process.cpuUsage, medians of 5 rounds of 20,000 commits):\n");
  table(
    ["engine", "µs per commit", "peer µs per commit", "ratio to peer (speed)"],
    contenders.slice(0, 3).map(([label], i) => [label, fmt(median(cpu[i]!), 2), fmt(peerCpu, 2), `${fmt(peerCpu / median(cpu[i]!), 2)}×`]),
  );

  const events = 100_000;
  const t0 = performance.now();
  const source = runWorkload(events, 11);
  const build = performance.now() - t0;
  const log = source.exportLog();
  const core = await ClpCore.load();
  const times: number[] = [];
  let hash = "";
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    hash = replayStateHash(core, log).hash;
    times.push(performance.now() - t);
  }
  if (hash !== source.stateHash()) throw new Error("replay ended in another state");
  console.log(`\nReplay of an event log (${fmt(source.head().seq)} events, ${fmt(log.length / 1e6, 1)} MB; hash chain verified, state rebuilt, SHA-256 of the state):\n`);
  table(
    ["what", "median of 5 (ms)", "events/s"],
    [
      ["replay in wasm", fmt(median(times), 1), fmt((source.head().seq * 1000) / median(times))],
      [`(building the log: ${fmt(events)} intents committed through the runtime)`, fmt(build, 0), fmt((events * 1000) / build)],
    ],
  );
}
