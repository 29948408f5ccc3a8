/**
 * `clawft/clp/worker`: CLP runtimes in a Worker. {@link ClpWorker.createRuntime} gives a
 * {@link WorkerRuntime} with the methods of {@link Runtime}, each returning a Promise, so the
 * engine's commits never block the calling thread.
 *
 * ```ts
 * // clp.worker.ts
 * import { exposeClp } from "clawft/clp/worker";
 * exposeClp();
 * // the page
 * import { createClpWorker } from "clawft/clp/worker";
 * const clp = await createClpWorker(new Worker(new URL("./clp.worker.ts", import.meta.url), { type: "module" }));
 * const rt = await clp.createRuntime(contract, (intent) => ({ seats: 2 }));
 * await rt.dispatch("book", { seats: 2 });
 * await rt.commit();
 * ```
 * Differences from the in-thread runtime: the contract crosses by structured clone, so guards,
 * `when` and `effects` must be declarative rules (docs/clp-rules.md; a JavaScript function is
 * refused with a TypeError naming its path); the AI provider and `subscribe` callbacks stay on
 * the calling thread and are called back across (comlink proxies); storage, middleware and
 * validation are not options here: persist with `snapshot`/`exportLog` (transferred, not
 * copied) on the calling thread. Errors arrive as their own classes (`GuardDeniedError` with
 * its `guard` and `suggestion`, …); when the Worker dies, pending and later calls reject with
 * {@link WorkerCrashError}.
 * @module
 */
import { proxy, transfer, type Endpoint } from "comlink";
import { WorkerConnection, WorkerCrashError, exposeApi, guarded, type WorkerLike } from "../core/worker.js";
import * as errors from "./errors.js";
import type { Contract } from "./contract.js";
import type { ClpEvent } from "./events.js";
import type { AiProvider, CommitOptions, CommitResult, LogEntry, Proposal, Runtime } from "./runtime.js";

export { WorkerCrashError, type WorkerLike } from "../core/worker.js";

/** The error classes that cross back as themselves. */
const CLASSES = { ...errors, TypeError, RangeError, WorkerCrashError } as unknown as Record<string, abstract new (...args: never[]) => Error>;

/** One runtime in the Worker, as exposed (see {@link WorkerRuntime} for the meaning of each). */
export interface RuntimeApi {
  dispatch(intentName: string, payload?: Record<string, unknown>): Promise<void>;
  propose(intentName: string): Promise<Proposal | null>;
  stageProposal(intentName: string, proposal: Proposal): Promise<void>;
  acceptProposal(intentName: string): Promise<void>;
  commit(transitionName?: string): Promise<void>;
  commitAsync(transitionName?: string, options?: CommitOptions): Promise<CommitResult>;
  getState(key?: string): Promise<unknown>;
  subscribe(key: string, callback: (state: unknown) => void): Promise<() => Promise<void>>;
  getLog(): Promise<LogEntry[]>;
  getEvents(fromSeq?: number): Promise<ClpEvent[]>;
  exportLog(fromSeq?: number): Promise<Uint8Array>;
  head(): Promise<{ seq: number; hash: string }>;
  stateHash(): Promise<string>;
  append(log: Uint8Array): Promise<void>;
  replay(log: Uint8Array): Promise<void>;
  snapshot(): Promise<Uint8Array>;
  restore(snapshot: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** What {@link exposeClp} exposes. */
export interface ClpWorkerApi {
  /** Answers once the engine core is loaded. */
  ping(): Promise<true>;
  createRuntime(contract: Contract, ai?: AiProvider): Promise<RuntimeApi>;
  createContract(contract: Contract): Promise<void>;
}

/** Path of the first function inside `value` (contracts must be data to cross), or undefined. */
function functionPath(value: unknown, path: string, seen = new Set<unknown>()): string | undefined {
  if (typeof value === "function") return path;
  if (typeof value !== "object" || value === null || seen.has(value)) return undefined;
  seen.add(value);
  for (const [k, v] of Object.entries(value)) {
    const p = functionPath(v, Array.isArray(value) ? `${path}[${k}]` : `${path}.${k}`, seen);
    if (p) return p;
  }
  return undefined;
}

/** Serves CLP runtimes from inside a Worker (call it in the Worker's entry); loads the engine core there. */
export async function exposeClp(endpoint?: Endpoint): Promise<void> {
  // Listen at once and load the core meanwhile: a browser Worker drops messages that arrive
  // before it listens, and the first call may come while the core still loads.
  const loading = import("./index.js");
  const api: ClpWorkerApi = {
    async ping() {
      await loading;
      return true;
    },
    async createContract(contract) {
      (await loading).createContract(contract);
    },
    async createRuntime(contract, ai) {
      const rt: Runtime = (await loading).createRuntime(contract, ai);
      const one: RuntimeApi = {
        async dispatch(name, payload) {
          rt.dispatch(name, payload);
        },
        propose: (name) => rt.propose(name),
        async stageProposal(name, proposal) {
          rt.stageProposal(name, proposal);
        },
        async acceptProposal(name) {
          rt.acceptProposal(name);
        },
        async commit(transition) {
          rt.commit(transition);
        },
        commitAsync: (transition, options) => rt.commitAsync(transition, options),
        async getState(key) {
          return rt.getState(key);
        },
        async subscribe(key, callback) {
          const off = rt.subscribe(key, (state) => void callback(state));
          return proxy(async () => off());
        },
        async getLog() {
          return rt.getLog();
        },
        async getEvents(fromSeq) {
          return rt.getEvents(fromSeq);
        },
        async exportLog(fromSeq) {
          const log = rt.exportLog(fromSeq);
          return transfer(log, [log.buffer as ArrayBuffer]);
        },
        async head() {
          return rt.head();
        },
        async stateHash() {
          return rt.stateHash();
        },
        append: (log) => rt.append(log),
        replay: (log) => rt.replay(log),
        async snapshot() {
          const s = rt.snapshot();
          return transfer(s, [s.buffer as ArrayBuffer]);
        },
        async restore(snapshot) {
          rt.restore(snapshot);
        },
        async close() {
          rt.close();
        },
      };
      return proxy(guarded(one));
    },
  };
  await exposeApi(guarded(api), endpoint);
}

/**
 * A CLP runtime living in a Worker: {@link Runtime}'s methods, asynchronous. Calls run in
 * the order they are made.
 */
export class WorkerRuntime {
  readonly #owner: ClpWorker;
  readonly #remote: RuntimeApi;

  /** @internal */
  constructor(owner: ClpWorker, remote: RuntimeApi) {
    this.#owner = owner;
    this.#remote = remote;
  }

  #call<T>(fn: (r: RuntimeApi) => Promise<T>): Promise<T> {
    return this.#owner.call(() => fn(this.#remote));
  }

  /** {@link Runtime.dispatch}. @throws IntentError, PayloadTypeError */
  dispatch(intentName: string, payload: Record<string, unknown> = {}): Promise<void> {
    return this.#call((r) => r.dispatch(intentName, payload));
  }
  /** {@link Runtime.propose}: the AI provider runs on the calling thread. */
  propose(intentName: string): Promise<Proposal | null> {
    return this.#call((r) => r.propose(intentName));
  }
  /** {@link Runtime.stageProposal}. */
  stageProposal(intentName: string, proposal: Proposal): Promise<void> {
    return this.#call((r) => r.stageProposal(intentName, proposal));
  }
  /** {@link Runtime.acceptProposal}. @throws ProposalError */
  acceptProposal(intentName: string): Promise<void> {
    return this.#call((r) => r.acceptProposal(intentName));
  }
  /** {@link Runtime.commit}. @throws GuardDeniedError, CommitError, EffectError */
  commit(transitionName?: string): Promise<void> {
    return this.#call((r) => r.commit(transitionName));
  }
  /** {@link Runtime.commitAsync}. */
  commitAsync(transitionName?: string, options?: CommitOptions): Promise<CommitResult> {
    return this.#call((r) => r.commitAsync(transitionName, options));
  }
  /** {@link Runtime.getState}: a copy of the state (or of `key`'s value). */
  getState(key?: string): Promise<any> {
    return this.#call((r) => r.getState(key));
  }
  /**
   * {@link Runtime.subscribe}: `callback` runs on this thread after each commit that changes
   * `key`. Resolves with the unsubscribe function.
   */
  async subscribe(key: string, callback: (state: any) => void): Promise<() => Promise<void>> {
    const off = await this.#call((r) => r.subscribe(key, proxy(callback)));
    return () => this.#call(() => off());
  }
  /** {@link Runtime.getLog}. */
  getLog(): Promise<LogEntry[]> {
    return this.#call((r) => r.getLog());
  }
  /** {@link Runtime.getEvents}. */
  getEvents(fromSeq?: number): Promise<ClpEvent[]> {
    return this.#call((r) => r.getEvents(fromSeq));
  }
  /** {@link Runtime.exportLog}: the binary event log, transferred. */
  exportLog(fromSeq?: number): Promise<Uint8Array> {
    return this.#call((r) => r.exportLog(fromSeq));
  }
  /** {@link Runtime.head}: the hash chain's last sequence number and hash. */
  head(): Promise<{ seq: number; hash: string }> {
    return this.#call((r) => r.head());
  }
  /** {@link Runtime.stateHash}. */
  stateHash(): Promise<string> {
    return this.#call((r) => r.stateHash());
  }
  /** {@link Runtime.append}: verifies and applies events after the head. @throws EventLogError */
  append(log: Uint8Array): Promise<void> {
    return this.#call((r) => r.append(log));
  }
  /** {@link Runtime.replay}. @throws EventLogError */
  replay(log: Uint8Array): Promise<void> {
    return this.#call((r) => r.replay(log));
  }
  /** {@link Runtime.snapshot}: transferred. */
  snapshot(): Promise<Uint8Array> {
    return this.#call((r) => r.snapshot());
  }
  /** {@link Runtime.restore}. @throws SnapshotError */
  restore(snapshot: Uint8Array): Promise<void> {
    return this.#call((r) => r.restore(snapshot));
  }
  /** {@link Runtime.close}. */
  close(): Promise<void> {
    return this.#call((r) => r.close());
  }
}

/** The CLP engine in a Worker; see the module comment. */
export class ClpWorker {
  readonly #conn: WorkerConnection<ClpWorkerApi>;

  /** Wraps `worker` (running {@link exposeClp}); prefer {@link createClpWorker}. */
  constructor(worker: WorkerLike) {
    this.#conn = new WorkerConnection<ClpWorkerApi>(worker, "CLP");
  }

  /** Runs one remote call with typed errors and the crash watch. @internal */
  call<T>(fn: (remote: ClpWorkerApi) => Promise<T>): Promise<T> {
    return this.#conn.call((r) => fn(r as unknown as ClpWorkerApi), CLASSES);
  }

  /** {@link createContract} in the Worker: compiles and checks `contract`. @throws ContractError, TypeError */
  createContract(contract: Contract): Promise<void> {
    const fn = functionPath(contract, "contract");
    if (fn) return Promise.reject(new TypeError(`${fn} is a JavaScript function, which cannot cross to a Worker; write it as a declarative rule`));
    return this.call((r) => r.createContract(contract));
  }

  /**
   * {@link createRuntime} in the Worker.
   * @param aiProvider runs on this thread when the runtime proposes
   * @throws ContractError; TypeError when `contract` holds a JavaScript function
   */
  async createRuntime(contract: Contract, aiProvider?: AiProvider): Promise<WorkerRuntime> {
    const fn = functionPath(contract, "contract");
    if (fn) throw new TypeError(`${fn} is a JavaScript function, which cannot cross to a Worker; write it as a declarative rule`);
    const remote = await this.call((r) => r.createRuntime(contract, aiProvider ? proxy(aiProvider) : undefined));
    return new WorkerRuntime(this, remote);
  }

  /** Terminates the Worker; pending and later calls reject with {@link WorkerCrashError}. */
  terminate(): Promise<void> {
    return this.#conn.terminate();
  }
}

/**
 * Connects to a Worker running {@link exposeClp} and checks that it answers.
 * @throws WorkerCrashError when the Worker dies before answering
 */
export async function createClpWorker(worker: WorkerLike): Promise<ClpWorker> {
  const w = new ClpWorker(worker);
  await w.call((r) => r.ping());
  return w;
}
