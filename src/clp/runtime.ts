/**
 * The CLP runtime: the v0.1 API (clp-semantics.md) over the engine core, with the roadmap:
 * persistence, middleware, schema validation, async transitions with timeouts, idempotency
 * keys and rollback, guard suggestions, and the event log (docs/clp.md).
 * @module
 */
import type { ClaspValue, ClaspValueInput } from "../clasp/index.js";
import type { Storage } from "../storage/index.js";
import { ClpCore, OK, NEED, ERROR, expectOk, type Answer } from "./core.js";
import { toHex } from "../core/hex.js";
import { describe, type Contract, type Context, type HostFunctions, type Intent, type State } from "./contract.js";
import { applyOps, patchToOps, toClasp, UNKNOWN } from "./ops.js";
import {
  CommitError, GuardDeniedError, PersistError, ProposalError, SubscriberError,
  TransitionTimeoutError, ValidationError, engineError, outcomesOf, pathText,
} from "./errors.js";
import { EventLog, decodeEvent, type ClpEvent } from "./events.js";

/** The AI provider: proposes values for the current intent (a frozen copy). */
export type AiProvider = (intent: Intent) => Promise<Proposal | null | undefined> | Proposal | null | undefined;
/** A proposal: input name → value. */
export type Proposal = Record<string, unknown>;

/** One audit log entry (clp-semantics.md §9). */
export interface LogEntry {
  timestamp: Date;
  intentName: string;
  intentPayload: Record<string, any>;
  stagedProposal?: Proposal;
  acceptedProposal?: Proposal;
  guardOutcomes: Array<{ name: string; denied: boolean }>;
  transitionAttempted?: string;
  transitionResult: { name?: string; permitted: boolean };
  stateDiff: Record<string, any>;
  /** Guard-denied entries: the denying guard's suggestion, when it made one. */
  suggestion?: Record<string, unknown>;
  /** Commit entries: the event's sequence number. */
  seq?: number;
}

/** Hooks around the runtime's operations (roadmap §3). Async hooks are awaited by the async operations only. */
export interface Middleware {
  name: string;
  beforeDispatch?: (intent: { name: string; payload: Record<string, unknown> }) => void | Promise<void>;
  afterDispatch?: (intent: Intent, log: LogEntry) => void | Promise<void>;
  beforePropose?: (intent: Intent) => void | Promise<void>;
  afterPropose?: (intent: Intent, proposal: Proposal) => void | Promise<void>;
  beforeCommit?: (intent: Intent) => void | Promise<void>;
  afterCommit?: (intent: Intent, log: LogEntry) => void | Promise<void>;
  onGuardDeny?: (guard: { name: string; suggestion?: Record<string, unknown> }, ctx: Readonly<Context>) => void | Promise<void>;
  onError?: (error: unknown, phase: Phase) => void | Promise<void>;
}

type Hook = Exclude<keyof Middleware, "name">;

/** Where an error happened, as reported to {@link Middleware.onError}. */
export type Phase = "dispatch" | "propose" | "accept" | "commit" | "subscriber" | "persist" | "middleware" | "hydrate";

/** Anything with Zod's `safeParse` (and optionally `partial`): a Zod object schema, or your own. */
export interface SchemaLike {
  safeParse(value: unknown): { success: boolean; error?: unknown };
  partial?: () => SchemaLike;
}

/** Options of {@link createRuntime}. */
export interface RuntimeOptions {
  /** Where state and events persist (clawft/storage adapters). Defaults to none (memory only). */
  storage?: Storage;
  /** Key prefix in the storage. Defaults to `"clp"`. */
  storageKey?: string;
  /** Store every commit before it is reported (needs {@link Runtime.commitAsync}). Defaults to true with a storage. */
  persistOnCommit?: boolean;
  /** Load the stored state when created ({@link Runtime.ready}). Defaults to true with a storage. */
  hydrateOnInit?: boolean;
  /** Write a snapshot (and drop the events it covers) every n commits; 0 = only on `persist()`. Defaults to 0. */
  snapshotEvery?: number;
  /** Hooks, run in array order. */
  middleware?: Middleware[];
  /** Runtime validation of payloads and proposals with Zod schemas, per intent name. */
  validation?: { schema: Record<string, SchemaLike>; strict?: boolean };
  /** Where non-strict validation failures and unhandled hook errors go. Defaults to `console`. */
  logger?: { warn(...args: unknown[]): void };
  /** Clock for timestamps, ms since the epoch. Defaults to `Date.now`. */
  now?: () => number;
  /** The engine core to run on. Defaults to the module's shared core. */
  core?: ClpCore;
  /**
   * Most audit entries {@link Runtime.getLog} keeps: the oldest are dropped beyond it (the
   * hash-chained event log, `getEvents`/`exportLog`, stays complete). `Infinity` keeps all,
   * as v0.1 did. Defaults to 10,000.
   */
  auditLimit?: number;
}

/** Options of {@link Runtime.commitAsync}. */
export interface CommitOptions {
  /** A commit with a key already committed does not apply again; it resolves `{ duplicate: true }`. */
  idempotencyKey?: string;
  /** Longest wait for async effects, ms; overrides the transition's `timeoutMs`. */
  timeoutMs?: number;
}

/** What a commit produced. */
export interface CommitResult {
  /** The event's sequence number (the original event's, for a duplicate). */
  seq: number;
  /** The transition applied (undefined for a duplicate). */
  transition?: string;
  /** Changed paths → new values (`undefined`: deleted). */
  diff: Record<string, any>;
  /** The same changes with each path as segments (keys may contain dots). */
  changes: Array<{ path: Array<string | number>; value: unknown }>;
  /** True when the idempotency key was already committed: nothing was applied. */
  duplicate: boolean;
}

/** Freezes plain objects and arrays, recursively (byte arrays and class instances are left alone). */
const deepFreeze = <T>(v: T): T => {
  if (v !== null && typeof v === "object" && !Object.isFrozen(v) && (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
    Object.freeze(v);
    for (const x of Object.values(v as object)) deepFreeze(x);
  }
  return v;
};

/** True when `v` holds a byte array (mutable even in a frozen view) anywhere. */
const holdsBytes = (v: unknown): boolean => {
  if (v === null || typeof v !== "object") return false;
  if (v instanceof Uint8Array) return true;
  for (const x of Object.values(v as object)) if (holdsBytes(x)) return true;
  return false;
};

/** The NEED of the first guard (see Runtime.#host): asked by #prepare without an engine call. */
const NEED_GUARDS: ClaspValue[] = [1, 0];

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v !== null && (typeof v === "object" || typeof v === "function") && typeof (v as { then?: unknown }).then === "function";

interface Current {
  name: string;
  payload: Record<string, any>;
  complete: boolean;
  gen: number;
}

/**
 * An audit entry as kept: its fields and its time (ms since the epoch). The {@link LogEntry}
 * (with its `Date`, guard outcomes and state diff as objects) is built when it is first read,
 * so a commit nobody audits pays for none of it.
 */
interface AuditRecord {
  at: number;
  fields: Partial<LogEntry> & Pick<LogEntry, "intentName" | "intentPayload">;
  /** Commit entries: the engine's guard outcomes and diff, turned into `guardOutcomes`/`stateDiff` when read. */
  outcomes?: Array<[string, boolean]>;
  diff?: ReadonlyArray<readonly [ClaspValue[], ClaspValue?]>;
  /**
   * Commit entries made without decoding the engine's answer: the event record, whose buffer
   * holds the answer's CLASP bytes (a commit result, `answerLength` bytes) right after it
   * (ClpCore.recordThenAnswer), decoded into transition, outcomes, diff and seq when the entry
   * is first read. The record's view is the event log's own: no second view per commit.
   */
  answerAfter?: Uint8Array;
  answerLength?: number;
  entry?: LogEntry;
}

/** The audit entry of a record, built once; `codec` decodes a kept commit answer. */
function entryOf(r: AuditRecord, codec: ClpCore["codec"]): LogEntry {
  if (r.entry) return r.entry;
  const rec = r.answerAfter;
  if (rec) {
    const answer = new Uint8Array(rec.buffer, rec.byteOffset + rec.byteLength, r.answerLength);
    const [name, outcomes, diff, seq] = codec.decodeValue(answer) as [string, Array<[string, boolean]>, Array<[ClaspValue[], ClaspValue?]>, number];
    const f = r.fields;
    // the keys in the order an eagerly built commit entry has them (#finish)
    r.fields = {
      intentName: f.intentName,
      intentPayload: f.intentPayload,
      stagedProposal: undefined,
      transitionAttempted: f.transitionAttempted || name,
      transitionResult: { name, permitted: true },
      seq,
    };
    r.outcomes = outcomes;
    r.diff = diff;
    r.answerAfter = undefined;
  }
  const e = r.fields as LogEntry;
  e.timestamp = new Date(r.at);
  if (r.outcomes) e.guardOutcomes = r.outcomes.map(([name, denied]) => ({ name, denied }));
  if (r.diff) e.stateDiff = diffObject(r.diff);
  e.guardOutcomes ??= [];
  e.transitionResult ??= { permitted: false };
  e.stateDiff ??= {};
  return (r.entry = e);
}

/** A commit's diff as path text → new value (frozen; `undefined`: deleted). */
function diffObject(list: ReadonlyArray<readonly [ClaspValue[], ClaspValue?]>): Record<string, any> {
  const diff: Record<string, any> = {};
  for (const d of list) diff[pathText(d[0])] = d.length > 1 ? deepFreeze(d[1]) : undefined;
  return diff;
}

interface Pending {
  /** Results of JavaScript guards in the order the engine reaches them: [true, suggestion] when denied, false when allowed. */
  guards: ClaspValueInput[];
  whens?: boolean[];
  ops?: ClaspValueInput[];
  /** The transition whose JavaScript effects ran (for rollback). */
  ran?: string;
}

/**
 * A CLP runtime over one engine. Create it with {@link createRuntime}. Not thread-safe; an
 * async operation in flight makes other state-changing calls throw CommitError `BUSY`.
 */
export class Runtime {
  readonly #core: ClpCore;
  readonly #h: number;
  readonly #contract: Contract;
  readonly #fns: HostFunctions;
  readonly #ai: AiProvider | undefined;
  readonly #opts: RuntimeOptions;
  readonly #mw: Middleware[];
  /** Audit records, oldest first; trimmed to `#auditLimit` in amortised steps (see #entry). */
  #log: AuditRecord[] = [];
  readonly #auditLimit: number;
  readonly #subs = new Map<string, { segments: string[]; callbacks: Array<(state: State) => void> }>();
  readonly #events: EventLog;
  #current: Current | undefined;
  #staged: Proposal | undefined;
  #gen = 0;
  /**
   * The frozen state view closures and subscribers get: decoded from the engine when needed,
   * then kept between commits and advanced with the ops each commit sent (applyOps: only the
   * changed paths get new frozen objects). Dropped (undefined) wherever the engine's state
   * changes otherwise: rule effects, commitMany's batches, restore, hydrate, replay, append,
   * an aborted commit.
   */
  #view: State | undefined;
  /** The view may be kept across commits: it holds no byte arrays (which a closure could change in place). */
  #keep = false;
  /** The last context handed to closures, reused while the intent and the view are the same. */
  #ctxCache: { intent: Current; state: State; ctx: Readonly<Context> } | undefined;
  #busy = false;
  #sinceSnapshot = 0;
  /** Encoded arguments of plain commits, by confirm flag, lean flag and transition name. */
  readonly #plainArgs = new Map<string, Uint8Array>();
  /** The one of them `commit()` passes most: confirmed, lean, the transition chosen by `when` (no key built to find it). */
  #leanArgs: Uint8Array | undefined;
  /** The time the last engine call of a commit passed (#step), for its audit entry. */
  #stepAt = 0;
  /** The contract has JavaScript guards, `when`s or effects (see #prepare). */
  readonly #hasJs: boolean;
  /** Indices of the transitions whose `when` is a JavaScript function, in order. */
  readonly #jsWhen: number[];
  /** How many transitions have a `when` (rule or function). */
  readonly #withWhen: number;
  /** The contract reads `{"now": []}`: commits carry the ISO time. */
  readonly #usesNow: boolean;
  /** Resolves when hydration (`hydrateOnInit`) finished; rejects with its error. */
  readonly ready: Promise<void>;

  constructor(contract: Contract, ai: AiProvider | undefined, options: RuntimeOptions, core: ClpCore) {
    const { descriptor, fns } = describe(contract);
    this.#core = core;
    this.#h = core.create(descriptor);
    this.#contract = contract;
    this.#fns = fns;
    this.#hasJs = [fns.deny, fns.when, fns.effects].some((list) => list.some((fn) => fn !== undefined));
    this.#jsWhen = fns.transitions.flatMap((_, i) => (fns.when[i] ? [i] : []));
    this.#withWhen = Object.values(contract.transitions ?? {}).filter((t) => t?.when !== undefined && t.when !== null).length;
    this.#usesNow = JSON.stringify(descriptor).includes('"now"');
    this.#ai = ai;
    this.#opts = options;
    this.#mw = options.middleware ?? [];
    const limit = options.auditLimit ?? 10_000;
    if (!(limit >= 0)) throw new RangeError(`auditLimit must be a number ≥ 0, got ${String(limit)}`);
    this.#auditLimit = Math.floor(limit);
    this.#events = new EventLog(options.storage, options.storageKey ?? "clp");
    const hydrate = options.hydrateOnInit ?? options.storage !== undefined;
    this.ready = hydrate ? this.#exclusive(() => this.#hydrate()) : Promise.resolve();
    this.ready.catch(() => undefined);
  }

  // ---- helpers

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }

  #checkIdle(): void {
    if (this.#busy) throw new CommitError("The runtime is busy: an async commit, a hydration or a persist is in progress", "BUSY");
  }

  async #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.#checkIdle();
    this.#busy = true;
    try {
      return await fn();
    } finally {
      this.#busy = false;
    }
  }

  /** Runs a hook in a synchronous operation: its throw aborts the operation; a rejected promise goes to onError. */
  #hookSync<K extends Hook>(name: K, ...args: Parameters<NonNullable<Middleware[K]>>): void {
    for (const m of this.#mw) {
      const fn = m[name] as ((...a: unknown[]) => unknown) | undefined;
      if (!fn) continue;
      const r = fn.apply(m, args);
      if (isThenable(r)) Promise.resolve(r).catch((e) => this.#report(e, "middleware"));
    }
  }

  /** Runs an after-hook (or onGuardDeny): the operation is done, so a failure is reported, not thrown. */
  #after<K extends Hook>(name: K, ...args: Parameters<NonNullable<Middleware[K]>>): void {
    try {
      this.#hookSync(name, ...args);
    } catch (e) {
      this.#report(e, "middleware");
    }
  }

  async #hook<K extends Hook>(name: K, ...args: Parameters<NonNullable<Middleware[K]>>): Promise<void> {
    for (const m of this.#mw) {
      const fn = m[name] as ((...a: unknown[]) => unknown) | undefined;
      if (fn) await fn.apply(m, args);
    }
  }

  /** Reports an error to the onError hooks (never throws). */
  #report(error: unknown, phase: Phase): void {
    let handled = false;
    for (const m of this.#mw) {
      if (!m.onError) continue;
      handled = true;
      try {
        const r = m.onError(error, phase);
        if (isThenable(r)) Promise.resolve(r).catch((e) => (this.#opts.logger ?? console).warn("clp onError hook failed", e));
      } catch (e) {
        (this.#opts.logger ?? console).warn("clp onError hook failed", e);
      }
    }
    if (!handled && phase === "middleware") (this.#opts.logger ?? console).warn("clp middleware failed", error);
  }

  #fail(error: unknown, phase: Phase): never {
    this.#report(error, phase);
    throw error;
  }

  #validate(name: string, value: unknown, partial: boolean, what: string): void {
    const v = this.#opts.validation;
    const schema = v?.schema[name];
    if (!schema) return;
    const s = partial && typeof schema.partial === "function" ? schema.partial() : schema;
    const r = s.safeParse(value);
    if (r.success) return;
    const err = new ValidationError(`${what} for intent ${name} failed validation: ${String((r.error as { message?: string })?.message ?? r.error)}`, r.error);
    if (v?.strict) throw err;
    (this.#opts.logger ?? console).warn(err.message);
  }

  /** The frozen state view ({@link #view}), decoded from the engine when there is none. */
  #state(): State {
    let view = this.#view;
    if (view === undefined) {
      view = this.#view = deepFreeze(this.#core.rawValue("state", this.#h) as State);
      this.#keep = !holdsBytes(view);
    }
    return view;
  }

  /**
   * After a confirmed commit: the view follows the ops the commit sent (its JavaScript
   * effects' ops, applied by the engine as they are), or is dropped when the commit sent
   * none (rule effects changed the state) or applyOps does not reproduce them.
   */
  #advance(ops: readonly ClaspValueInput[] | undefined): void {
    const view = this.#view;
    if (view === undefined || ops === undefined || !this.#keep) {
      this.#view = undefined;
      return;
    }
    if (ops.length === 0) return;
    const next = applyOps(view, ops);
    this.#view = next === UNKNOWN ? undefined : (next as State);
  }

  #intentView(): Intent {
    const c = this.#current!;
    return { name: c.name, payload: c.payload, complete: c.complete };
  }

  /** The frozen context of closures: one frozen intent per current intent, a new context only when the intent or the view changed. */
  #ctx(): Readonly<Context> {
    const c = this.#current!;
    const state = this.#state();
    const k = this.#ctxCache;
    if (k !== undefined && k.intent === c && k.state === state) return k.ctx;
    const intent = k !== undefined && k.intent === c ? k.ctx.intent : Object.freeze(this.#intentView());
    const ctx = Object.freeze({ intent, state });
    this.#ctxCache = { intent: c, state, ctx };
    return ctx;
  }

  /** Appends an audit record; returns it (its entry is built by {@link entryOf} when read). */
  #entry(fields: AuditRecord["fields"], at = this.#now()): AuditRecord {
    const r: AuditRecord = { at, fields };
    const log = this.#log;
    log.push(r);
    // drop the oldest in one step once the log holds twice the limit: O(1) amortised per entry
    if (log.length > 2 * this.#auditLimit && log.length > 64) this.#log = log.slice(log.length - this.#auditLimit);
    return r;
  }

  // ---- v0.1 API

  /**
   * Makes `intentName` the current intent with `payload` (copied). Clears a staged proposal
   * (v0.1 kept it: quirk Q1).
   * @throws IntentError `Unknown intent ${name}`; PayloadTypeError when a value does not have its input's type;
   *   ValidationError (strict validation); CommitError `BUSY`
   */
  dispatch(intentName: string, payload: Record<string, unknown> = {}): void {
    this.#checkIdle();
    try {
      if (this.#mw.length > 0) this.#hookSync("beforeDispatch", { name: intentName, payload });
      if (this.#opts.validation) this.#validate(intentName, payload, true, "payload");
      // toClasp copies the payload (Dates become ISO strings), frozen: the copy is the intent's view
      const normalized = toClasp(payload ?? {}, true) as Record<string, any>;
      // the answer is [complete]: read from the engine's flag, not decoded
      if (this.#core.callRaw("dispatch", this.#h, [intentName, normalized]) !== OK) expectOk({ status: ERROR, value: this.#core.answerValue() });
      const complete = this.#core.flag();
      this.#current = { name: intentName, payload: normalized, complete, gen: ++this.#gen };
      this.#staged = undefined;
      const record = this.#entry({ intentName, intentPayload: normalized });
      if (this.#mw.length > 0) this.#after("afterDispatch", this.#intentView(), entryOf(record, this.#core.codec));
    } catch (e) {
      this.#fail(e, "dispatch");
    }
  }

  /**
   * Asks the AI provider for a proposal for the current intent, validates it and stages it.
   * Resolves null when `intentName` is not current or there is no provider. The provider gets
   * a frozen copy of the intent (v0.1 passed the live one: quirk Q5).
   * @throws (rejects) ProposalError `Proposal contains invalid field: x`, `… override required field: x`,
   *   or when a new intent was dispatched while the provider ran; PayloadTypeError; the provider's own error
   */
  async propose(intentName: string): Promise<Proposal | null> {
    if (!this.#current || this.#current.name !== intentName || !this.#ai) return null;
    const gen = this.#current.gen;
    try {
      const intent = deepFreeze(this.#intentView());
      await this.#hook("beforePropose", intent);
      const proposal = await this.#ai(intent);
      if (proposal === null || proposal === undefined) return null;
      if (this.#current?.gen !== gen) {
        throw new ProposalError("Intent changed while the AI provider was running; proposal discarded", "STALE_PROPOSAL");
      }
      this.#stage(intentName, proposal);
      await this.#hook("afterPropose", this.#intentView(), proposal).catch((e: unknown) => this.#report(e, "middleware"));
      return proposal;
    } catch (e) {
      this.#fail(e, "propose");
    }
  }

  /**
   * Stages a proposal from the caller (e.g. a guard's suggestion) as `propose` stages the
   * provider's: validated, logged, to be accepted with {@link acceptProposal}.
   * @throws ProposalError; PayloadTypeError; IntentError `No matching intent`
   */
  stageProposal(intentName: string, proposal: Proposal): void {
    this.#checkIdle();
    try {
      this.#stage(intentName, proposal);
    } catch (e) {
      this.#fail(e, "propose");
    }
  }

  #stage(intentName: string, proposal: Proposal): void {
    if (typeof proposal !== "object" || proposal === null || Array.isArray(proposal)) {
      throw new ProposalError("A proposal must be an object of input values", "NOT_AN_OBJECT");
    }
    this.#validate(intentName, proposal, true, "proposal");
    const bytes = this.#core.encode([intentName, toClasp(proposal)]);
    expectOk(this.#core.call("propose", this.#h, bytes));
    this.#staged = deepFreeze((this.#core.codec.decodeValue(bytes) as [string, Proposal])[1]);
    this.#entry({ intentName, intentPayload: this.#current!.payload, stagedProposal: this.#staged });
  }

  /**
   * Merges the staged proposal into the current intent's payload.
   * @throws IntentError `No matching intent`; ProposalError `No staged proposal to accept`
   */
  acceptProposal(intentName: string): void {
    this.#checkIdle();
    try {
      const [complete, payload] = expectOk(this.#core.call("accept", this.#h, [intentName])) as [boolean, Record<string, any>];
      const accepted = this.#staged;
      this.#current = { ...this.#current!, payload: deepFreeze(payload), complete };
      this.#staged = undefined;
      this.#entry({ intentName, intentPayload: this.#current.payload, acceptedProposal: accepted });
    } catch (e) {
      this.#fail(e, "accept");
    }
  }

  /**
   * Commits the current intent (clp-semantics.md §6): guards, then the named transition (its
   * `when` is not evaluated) or the one transition whose `when` holds, then its effects, all
   * or nothing. Subscribers run after the intent is consumed (v0.1 could apply twice: Q4).
   * @throws CommitError (no intent, unaccepted proposal, incomplete, ambiguous, no transition,
   *   async effects or `persistOnCommit`: use commitAsync); GuardDeniedError; RuleError;
   *   EffectError; a guard's or transition's own error; SubscriberError after a successful commit
   */
  commit(transitionName?: string): void {
    this.#checkIdle();
    if (this.#opts.storage && (this.#opts.persistOnCommit ?? true)) {
      throw new CommitError("This runtime persists every commit before reporting it: use commitAsync()", "ASYNC_REQUIRED");
    }
    this.#commitSync(transitionName, false);
  }

  /** The synchronous commit of {@link commit} and of commitMany's loop; the result only with `result`. */
  #commitSync(transitionName: string | undefined, result: true): CommitResult;
  #commitSync(transitionName: string | undefined, result: boolean): CommitResult | undefined;
  #commitSync(transitionName: string | undefined, result: boolean): CommitResult | undefined {
    const pending: Pending = { guards: [] };
    try {
      if (this.#current && this.#mw.length > 0) this.#hookSync("beforeCommit", this.#intentView());
      let ran = this.#prepare(transitionName, pending);
      for (;;) {
        if (ran !== undefined) {
          if (isThenable(ran.patch)) {
            throw new CommitError(`Transition ${pending.ran} returned a Promise: commit it with commitAsync()`, "ASYNC_REQUIRED");
          }
          pending.ops = this.#ops(ran.patch);
        }
        // the plain commit nobody watches: the event record now (from INFO), the rest of a
        // lean answer when the audit log is read
        const lean = !result && this.#mw.length === 0 && this.#subs.size === 0;
        const status = this.#step(transitionName, pending, undefined, true, lean);
        if (status === OK && lean) return this.#finishLean(transitionName, pending);
        const answer: Answer = { status, value: this.#core.answerValue() };
        if (status !== NEED) return this.#finish(answer, transitionName, result, pending);
        ran = this.#host(answer.value as ClaspValue[], pending);
      }
    } catch (e) {
      if (!(e instanceof SubscriberError)) void this.#rollback(pending, e);
      this.#fail(e, "commit");
    }
  }

  /**
   * Commits like {@link commit}, for async effects, timeouts, idempotency keys and
   * persistence: with a storage the event is stored before the promise resolves; when that
   * fails the commit is rolled back (the intent stays current).
   * @throws (rejects) like commit, plus TransitionTimeoutError and PersistError
   */
  async commitAsync(transitionName?: string, options: CommitOptions = {}): Promise<CommitResult> {
    return this.#exclusive(async () => {
      const pending: Pending = { guards: [] };
      try {
        if (this.#current) await this.#hook("beforeCommit", this.#intentView());
        const key = options.idempotencyKey;
        // with a key the engine may answer "duplicate" before any function is due: no preparing
        let ran = key === undefined ? this.#prepare(transitionName, pending) : undefined;
        let answer: Answer;
        for (;;) {
          if (ran !== undefined) pending.ops = this.#ops(await this.#settle(ran.patch, pending.ran!, options.timeoutMs));
          answer = { status: this.#step(transitionName, pending, key, false, false), value: null };
          answer.value = this.#core.answerValue();
          if (answer.status !== NEED) break;
          ran = this.#host(answer.value as ClaspValue[], pending);
        }
        if (answer.status === ERROR) return this.#finish(answer, transitionName, true, pending);
        const result = answer.value as ClaspValue[];
        if (result[6] === true) {
          this.#current = undefined;
          this.#staged = undefined;
          return { seq: Number(result[3]), diff: {}, changes: [], duplicate: true };
        }
        try {
          await this.#events.persist(Number(result[3]), joinParts(result[5]));
        } catch (cause) {
          this.#core.plain("abort", this.#h);
          this.#view = undefined; // the engine's state is the one before the commit again
          throw new PersistError(`The commit could not be stored and was rolled back: ${String(cause)}`, cause);
        }
        expectOk(this.#core.plain("confirm", this.#h));
        const done = this.#finish(answer, transitionName, true, pending);
        if (this.#opts.storage && this.#opts.snapshotEvery && ++this.#sinceSnapshot >= this.#opts.snapshotEvery) {
          // the commit is stored already: a failed snapshot is reported, not thrown
          await this.#snapshot().catch((e: unknown) => this.#report(e, "persist"));
        }
        return done;
      } catch (e) {
        if (!(e instanceof SubscriberError)) await this.#rollback(pending, e);
        this.#fail(e, e instanceof PersistError ? "persist" : "commit");
      }
    });
  }

  /** Awaits async effects, bounded by the timeout. */
  async #settle(patch: unknown, transition: string, timeoutMs: number | undefined): Promise<unknown> {
    const limit = timeoutMs ?? this.#contract.transitions[transition]?.timeoutMs;
    if (!isThenable(patch) || limit === undefined) return patch;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TransitionTimeoutError(`Transition ${transition} did not settle within ${limit} ms`, "TIMEOUT")), limit);
    });
    try {
      return await Promise.race([patch, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #rollback(pending: Pending, error: unknown): Promise<void> {
    const t = pending.ran === undefined ? undefined : this.#contract.transitions[pending.ran];
    if (!t?.rollback || !this.#current) return;
    try {
      await t.rollback(this.#ctx(), error);
    } catch (e) {
      this.#report(e, "commit");
    }
  }

  /**
   * One engine call of a commit; returns its status, the answer left undecoded in the core
   * (ClpCore.callRaw). With `lean`, a result is only [transition, outcomes, diff, seq]: the
   * record and seq are read from INFO (ClpCore.record).
   */
  #step(transition: string | undefined, p: Pending, key: string | undefined, confirm: boolean, lean: boolean): number {
    const now = (this.#stepAt = this.#now());
    if (!this.#usesNow && key === undefined && p.guards.length === 0 && !p.whens && !p.ops) {
      // the usual rules-only call: constant arguments (encoded once), the time set apart
      let bytes = !transition && confirm && lean ? this.#leanArgs : undefined;
      if (!bytes) {
        const id = `${confirm ? 1 : 0}${lean ? 1 : 0}${transition || ""}`;
        bytes = this.#plainArgs.get(id);
        if (!bytes) this.#plainArgs.set(id, (bytes = this.#core.encode([transition || null, null, null, null, [], null, null, confirm, lean])));
        if (!transition && confirm && lean) this.#leanArgs = bytes;
      }
      this.#core.clock(now);
      return this.#core.callRaw("commit", this.#h, bytes);
    }
    // the time set apart here too (one value less to encode and decode per commit)
    const iso = this.#usesNow ? new Date(now).toISOString() : null;
    const args = [transition || null, null, iso, key ?? null, p.guards, p.whens ?? null, p.ops ?? null, confirm, lean];
    this.#core.clock(now);
    return this.#core.callRaw("commit", this.#h, args as ClaspValueInput);
  }

  /**
   * Runs the contract's JavaScript guards, `when`s and effects before the engine call, in
   * v0.1 order, where the engine would ask for each of them (NEED) anyway: a commit of a
   * JavaScript contract then crosses into the engine once instead of once per NEED. It stops
   * where a rule decides what comes next (a rule guard; a rule `when`; not exactly one
   * matching transition): the engine asks for the rest. Only for a commit that passes the
   * engine's first checks (an intent, complete, nothing staged), so that no function runs for
   * a commit refused before them.
   * @returns the effects' patch (wrapped) when they ran
   */
  #prepare(transition: string | undefined, p: Pending): { patch: unknown } | undefined {
    const c = this.#current;
    const f = this.#fns;
    if (!this.#hasJs || !c || !c.complete || this.#staged) return undefined;
    const ctx = this.#ctx();
    if (f.deny.length > 0) {
      if (!f.deny[0]) return undefined; // a rule guard comes first: the engine decides
      this.#host(NEED_GUARDS, p, ctx);
      // an allowing guard's result is `false` (#host)
      if (p.guards[p.guards.length - 1] !== false || p.guards.length < f.deny.length) return undefined; // denied, or a rule guard follows
    }
    let index: number;
    if (transition) {
      index = f.transitions.indexOf(transition);
      if (index < 0) return undefined;
    } else {
      // the engine asks for every JavaScript `when` at once, before it evaluates the rule ones
      const js = this.#jsWhen;
      if (js.length > 0) p.whens = this.#whens(js, ctx);
      if (js.length < this.#withWhen) return undefined; // rule `when`s: the engine chooses
      index = -1;
      for (let k = 0; k < js.length; k++) {
        if (!p.whens![k]) continue;
        if (index >= 0) return undefined; // more than one: the engine refuses
        index = js[k]!;
      }
      if (index < 0) return undefined;
    }
    return f.effects[index] ? this.#host([3, f.transitions[index]!], p, ctx) : undefined;
  }

  /** Evaluates what a NEED answer asks for; returns the effects' patch (wrapped) when it ran them. */
  #host(need: ClaspValue[], p: Pending, ctx = this.#ctx()): { patch: unknown } | undefined {
    const kind = Number(need[0]);
    if (kind === 1) {
      // the JavaScript guards from this one on, in order, while they are JavaScript and allow
      for (let i = Number(need[1]); i < this.#fns.deny.length; i++) {
        const deny = this.#fns.deny[i];
        if (!deny) break;
        const denied = !!deny(ctx);
        const suggest = this.#fns.suggest[i];
        const suggestion = denied && suggest ? toClasp(suggest(ctx) ?? null) : null;
        // an allowing guard is sent as `false` (the engine reads a non-array as `denied`): two
        // values less to encode and for the engine to decode than [false, null]
        p.guards.push(denied ? [true, suggestion] : false);
        if (denied) break;
      }
      return undefined;
    }
    if (kind === 2) {
      p.whens = this.#whens(need[1] as number[], ctx);
      return undefined;
    }
    const name = String(need[1]);
    p.ran = name;
    const fn = this.#fns.effects[this.#fns.transitions.indexOf(name)]!;
    return { patch: fn(ctx) };
  }

  /** The results of the JavaScript `when`s of transitions `indices`, in order. */
  #whens(indices: readonly number[], ctx: Readonly<Context>): boolean[] {
    const out: boolean[] = new Array(indices.length);
    for (let k = 0; k < indices.length; k++) out[k] = !!this.#fns.when[indices[k]!]!(ctx);
    return out;
  }

  #ops(patch: unknown): ClaspValueInput[] {
    return patchToOps(patch, (path) => this.getState(path));
  }

  /**
   * Records a commit's outcome: log, events, state view, subscribers; throws its error. Builds
   * the {@link CommitResult} only with `result`. `sent` is the commit's pending results (its
   * ops advance the state view), absent when it sent none.
   */
  #finish(answer: Answer, attempted: string | undefined, result: true, sent?: Pending): CommitResult;
  #finish(answer: Answer, attempted: string | undefined, result: boolean, sent?: Pending): CommitResult | undefined;
  #finish(answer: Answer, attempted: string | undefined, result: boolean, sent?: Pending): CommitResult | undefined {
    const c = this.#current;
    if (answer.status === ERROR) {
      const e = answer.value as ClaspValue[];
      const err = engineError(e);
      if (c && (err instanceof GuardDeniedError || err.code === "NO_TRANSITION")) {
        const suggestion = err instanceof GuardDeniedError ? err.suggestion : undefined;
        const entry: Partial<LogEntry> = {
          stagedProposal: undefined,
          guardOutcomes: outcomesOf(e),
          transitionAttempted: attempted,
        };
        if (suggestion) entry.suggestion = suggestion;
        this.#entry({ intentName: c.name, intentPayload: c.payload, ...entry });
        if (err instanceof GuardDeniedError) this.#after("onGuardDeny", { name: err.guard, ...(suggestion ? { suggestion } : {}) }, this.#ctx());
      }
      throw err;
    }
    const r = answer.value as ClaspValue[];
    const [name, outcomes, diffList, seq] = r as [string, Array<[string, boolean]>, Array<[string[], ClaspValue?]>, number];
    this.#events.add(joinParts(r[5]), seq);
    this.#advance(sent?.ops);
    this.#current = undefined;
    this.#staged = undefined;
    const record = this.#entry({
      intentName: c!.name,
      intentPayload: c!.payload,
      stagedProposal: undefined,
      transitionAttempted: attempted || name,
      transitionResult: { name, permitted: true },
      seq,
    });
    record.outcomes = outcomes;
    record.diff = diffList;
    if (this.#mw.length > 0) this.#after("afterCommit", { name: c!.name, payload: c!.payload, complete: true }, entryOf(record, this.#core.codec));
    this.#notify(diffList);
    if (!result) return undefined;
    // the entry's stateDiff (built now or when read) and the result share the frozen values
    const diff = record.entry ? record.entry.stateDiff : diffObject(diffList);
    const changes = diffList.map((d) => ({ path: d[0] as Array<string | number>, value: d.length > 1 ? d[1] : undefined }));
    return { seq, transition: name, diff, changes, duplicate: false };
  }

  /**
   * Records a confirmed commit from what the engine put beside its lean answer (the event
   * record and its seq), keeping the answer's bytes for the audit entry: {@link entryOf}
   * decodes them when the log is read. For commits that need no {@link CommitResult}, with no
   * middleware and no subscribers (they would need the decoded answer now).
   */
  #finishLean(attempted: string | undefined, sent: Pending): undefined {
    const c = this.#current!;
    const core = this.#core;
    const record = core.recordThenAnswer()!;
    this.#events.add(record, core.recordSeq);
    this.#advance(sent.ops);
    this.#current = undefined;
    this.#staged = undefined;
    const r = this.#entry({ intentName: c.name, intentPayload: c.payload, transitionAttempted: attempted }, this.#stepAt);
    r.answerAfter = record;
    r.answerLength = core.answerLength;
    return undefined;
  }

  /**
   * Dispatches and commits each intent in turn — what `dispatch(name, payload)` then
   * `commit()` does for each, with the same checks, audit entries and events (one event per
   * intent, each hash-chained) — and returns their results. For a contract of rules only, with
   * no middleware, validation or subscribers, the engine runs a whole chunk of intents (up to
   * 256) in one call; otherwise this is that loop.
   * @param intents `[name, payload]` pairs, committed in order
   * @returns one result per intent
   * @throws the first refusal, as `dispatch` or `commit` throws it (IntentError, PayloadTypeError,
   *   GuardDeniedError, CommitError, RuleError, …), with `batchIndex` (the refused intent's
   *   index) and `committed` (the results of the intents committed before it) set on the error.
   *   A refused commit leaves its intent current, as `commit` does.
   */
  commitMany(intents: ReadonlyArray<readonly [string, Record<string, unknown>?]>): CommitResult[] {
    this.#checkIdle();
    if (this.#opts.storage && (this.#opts.persistOnCommit ?? true)) {
      throw new CommitError("This runtime persists every commit before reporting it: use commitAsync()", "ASYNC_REQUIRED");
    }
    const done: CommitResult[] = [];
    try {
      if (this.#hasJs || this.#mw.length > 0 || this.#opts.validation || this.#subs.size > 0) {
        for (const [name, payload] of intents) {
          this.dispatch(name, payload);
          done.push(this.#commitSync(undefined, true));
        }
      } else {
        for (let at = 0; at < intents.length; ) at = this.#batch(intents, at, done);
      }
      return done;
    } catch (e) {
      // the intents before the refused one committed: `done` holds one result for each
      if (e !== null && typeof e === "object") Object.assign(e, { batchIndex: done.length, committed: done });
      throw e;
    }
  }

  /**
   * Runs intents[from…] (at most 256) through the engine's `batch` verb: one call, then the
   * audit entries and events of each committed intent. Returns the index after the last one
   * committed; throws the refusal of the one that stopped the chunk.
   */
  #batch(intents: ReadonlyArray<readonly [string, Record<string, unknown>?]>, from: number, done: CommitResult[]): number {
    const end = Math.min(intents.length, from + 256);
    const payloads: Array<Record<string, any>> = [];
    const items: ClaspValueInput[] = [];
    for (let i = from; i < end; i++) {
      const [name, payload] = intents[i]!;
      const normalized = toClasp(payload ?? {}, true) as Record<string, any>;
      payloads.push(normalized);
      items.push([name, normalized]);
    }
    const now = this.#now();
    // lean: each result is [transition, outcomes, diff, seq]; the records lie one after
    // another in the engine's memory (INFO words 4 and 5), copied out in one piece
    const [results, failure] = expectOk(
      this.#core.call("batch", this.#h, [now, this.#usesNow ? new Date(now).toISOString() : null, items, true]),
    ) as [ClaspValue[][], [number, number, boolean, ClaspValue] | null];
    const records = results.length > 0 ? this.#core.record()!.record : undefined;
    let at = 0;
    for (let k = 0; k < results.length; k++) {
      const size = 4 + (((records![at]! << 24) | (records![at + 1]! << 16) | (records![at + 2]! << 8) | records![at + 3]!) >>> 0) + 32;
      const record = records!.subarray(at, at + size);
      at += size;
      this.#entry({ intentName: intents[from + k]![0], intentPayload: payloads[k]! }, now);
      this.#current = { name: intents[from + k]![0], payload: payloads[k]!, complete: true, gen: ++this.#gen };
      this.#staged = undefined;
      // the full answer's shape (#finish reads the record at 5; the hash, at 4, is the record's tail)
      const r = results[k]!;
      done.push(this.#finish({ status: OK, value: [r[0]!, r[1]!, r[2]!, r[3]!, null, [record], false] }, undefined, true));
    }
    if (failure === null) return end;
    const [k, stage, complete, value] = failure;
    const refused = from + k;
    if (stage === 0) this.#fail(engineError(value as ClaspValue[]), "dispatch");
    // the engine holds the refused intent as current (as after dispatch + a refused commit)
    this.#entry({ intentName: intents[refused]![0], intentPayload: payloads[k]! }, now);
    this.#current = { name: intents[refused]![0], payload: payloads[k]!, complete, gen: ++this.#gen };
    this.#staged = undefined;
    if (stage === 2) throw new CommitError("The engine asked for JavaScript results in a batch of a rules-only contract", "INTERNAL");
    try {
      this.#finish({ status: ERROR, value }, undefined, true);
    } catch (e) {
      this.#fail(e, "commit");
    }
    return refused; // not reached: #finish throws the refusal
  }

  /** Calls the subscribers of the paths a commit's diff changed (after the intent was consumed). */
  #notify(diffList: ReadonlyArray<readonly [ClaspValue[], ClaspValue?]>): void {
    if (this.#subs.size === 0 || diffList.length === 0) return;
    const changed = diffList.map((d) => d[0].map(String));
    const errors: unknown[] = [];
    const related = (a: string[], b: string[]) => a.every((s, i) => i >= b.length || s === b[i]);
    for (const { segments, callbacks } of this.#subs.values()) {
      if (!changed.some((c) => related(c, segments))) continue;
      for (const cb of [...callbacks]) {
        try {
          cb(this.#state());
        } catch (e) {
          errors.push(e);
          this.#report(e, "subscriber");
        }
      }
    }
    if (errors.length > 0) throw new SubscriberError(errors);
  }

  /**
   * The value at `key` (a path: `count`, `user.profile.name`, `items[0]`), or the whole state
   * without a key. Always a fresh copy (v0.1 returned the live object: quirk Q3).
   * @throws EffectError when the path is malformed
   */
  getState(key?: string): any {
    if (key === undefined) return this.#core.rawValue("state", this.#h);
    const [found, value] = expectOk(this.#core.call("get", this.#h, key)) as [boolean, ClaspValue];
    return found ? value : undefined;
  }

  /**
   * Calls `callback(state)` after each commit that changes `key`, a key above it or below it
   * (`user` sees `user.name`; `user.name` sees `user`). The state passed is a frozen copy.
   * @returns a function that removes this subscription
   * @throws EffectError when the path is malformed
   */
  subscribe(key: string, callback: (state: State) => void): () => void {
    let sub = this.#subs.get(key);
    if (!sub) {
      const segments = ((expectOk(this.#core.call("get", this.#h, key)) as ClaspValue[])[2] as ClaspValue[]).map(String);
      sub = { segments, callbacks: [] };
      this.#subs.set(key, sub);
    }
    sub.callbacks.push(callback);
    return () => {
      const i = sub!.callbacks.indexOf(callback);
      if (i >= 0) sub!.callbacks.splice(i, 1);
    };
  }

  /** The audit log, oldest first: a new array of frozen entries. */
  getLog(): LogEntry[] {
    const log = this.#log;
    const from = Math.max(0, log.length - this.#auditLimit);
    const out: LogEntry[] = new Array(log.length - from);
    for (let i = from; i < log.length; i++) out[i - from] = entryOf(log[i]!, this.#core.codec);
    return out;
  }

  // ---- events, replay, persistence

  /** The committed events since the last snapshot (all of them without one), oldest first. */
  getEvents(fromSeq = 0): ClpEvent[] {
    return this.#events.records(fromSeq).map((r) => decodeEvent(this.#core, r.record, r.hash));
  }

  /** The event log (docs/clp-formats.md §Event log) of the events after `fromSeq`, for replay elsewhere. */
  exportLog(fromSeq = 0): Uint8Array {
    return this.#events.export(fromSeq);
  }

  /** Sequence number and chain hash (hex) of the last event. */
  head(): { seq: number; hash: string } {
    const [seq, hash] = expectOk(this.#core.plain("head", this.#h)) as [number, Uint8Array];
    return { seq, hash: toHex(hash) };
  }

  /** SHA-256 (hex) of the state's CLASP bytes: equal states have equal hashes on every host. */
  stateHash(): string {
    return toHex(this.#core.raw("stateHash", this.#h));
  }

  /**
   * Applies events produced elsewhere (an event log continuing this runtime's head): the
   * hash chain and sequence are verified, all or nothing; with a storage they are stored too.
   * @throws (rejects) EventLogError when the log is corrupt, tampered with, or does not continue the head
   */
  async append(log: Uint8Array): Promise<void> {
    await this.#exclusive(async () => {
      const before = this.snapshot();
      const kept = this.#events.size;
      this.#apply(log, false);
      const added = this.#events.records(0).slice(kept);
      try {
        for (const r of added) await this.#events.persist(r.seq, r.record);
      } catch (cause) {
        // undo: the engine back to the snapshot, the kept log back to its length, the stored records removed
        expectOk(this.#core.bytes("restore", this.#h, before));
        this.#events.truncate(kept);
        this.#view = undefined;
        await this.#events.forget(added.map((r) => r.seq)).catch(() => undefined);
        throw new PersistError(`The events could not be stored and were not applied: ${String(cause)}`, cause);
      }
    });
  }

  /**
   * Rebuilds the state from an event log that starts at event 0 (replaces the state and
   * forgets the current intent; with a storage, what is stored is replaced by a snapshot).
   * All or nothing.
   * @throws (rejects) EventLogError
   */
  async replay(log: Uint8Array): Promise<void> {
    await this.#exclusive(async () => {
      this.#apply(log, true);
      await this.#events.replaceStored(this.snapshot());
    });
  }

  #apply(log: Uint8Array, fresh: boolean): void {
    expectOk(this.#core.bytes(fresh ? "replay" : "append", this.#h, log));
    this.#events.load(log, fresh);
    this.#view = undefined;
    if (fresh) {
      this.#current = undefined;
      this.#staged = undefined;
    }
  }

  /** A snapshot of state, head and idempotency keys (docs/clp-formats.md §Snapshot). */
  snapshot(): Uint8Array {
    return this.#core.raw("snapshot", this.#h);
  }

  /**
   * Replaces state, head and idempotency keys with a snapshot's; the event log restarts there.
   * @throws SnapshotError when the snapshot is corrupt or of another version (state unchanged)
   */
  restore(snapshot: Uint8Array): void {
    this.#checkIdle();
    this.#restore(snapshot);
  }

  #restore(snapshot: Uint8Array): void {
    const [seq, hash] = expectOk(this.#core.bytes("restore", this.#h, snapshot)) as [number, Uint8Array];
    this.#events.reset(seq, hash);
    this.#view = undefined;
    this.#current = undefined;
    this.#staged = undefined;
  }

  /** Writes a snapshot to the storage and drops the stored events it covers. */
  async persist(): Promise<void> {
    await this.#exclusive(() => this.#snapshot());
  }

  async #snapshot(): Promise<void> {
    const snap = this.snapshot();
    const [seq, hash] = expectOk(this.#core.plain("head", this.#h)) as [number, Uint8Array];
    await this.#events.saveSnapshot(snap, seq, hash);
    this.#sinceSnapshot = 0;
  }

  /** Loads the stored snapshot and events (what `hydrateOnInit` does). */
  async hydrate(): Promise<void> {
    await this.#exclusive(() => this.#hydrate());
  }

  async #hydrate(): Promise<void> {
    try {
      const snapshot = await this.#events.readSnapshot();
      if (snapshot) this.#restore(snapshot);
      const [seq, hash] = expectOk(this.#core.plain("head", this.#h)) as [number, Uint8Array];
      const log = await this.#events.readLog(seq, hash);
      if (log) this.#apply(log, false);
    } catch (e) {
      this.#report(e, "hydrate");
      throw e;
    }
  }

  /** Releases the engine. The runtime is unusable afterwards. */
  close(): void {
    this.#core.destroy(this.#h);
  }
}

/** The event record of a commit answer: byte strings of at most 65,535 bytes, joined. */
function joinParts(parts: ClaspValue): Uint8Array {
  const list = parts as Uint8Array[];
  if (list.length === 1) return list[0]!;
  const out = new Uint8Array(list.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of list) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

