/**
 * Contracts: the v0.1 shape (intents with typed inputs, guards, transitions), where every
 * guard, `when` and `effects` is either a JavaScript function (evaluated in TypeScript) or a
 * declarative rule (JSON data evaluated by the engine, docs/clp-rules.md). A contract may
 * mix both. The engine receives a *descriptor*: the contract with each function replaced by
 * `{"$js": n}` (docs/clp-formats.md §Contract descriptor).
 * @module
 */
import type { ClaspValueInput } from "../clasp/index.js";
import { toClasp, type EffectOp } from "./ops.js";

/** A value of the state or a payload. */
export type Value = any;
/** The state: an object whose values are CLASP values (nested objects and arrays allowed). */
export type State = Record<string, Value>;
/** The v0.1 descriptive state section; the engine does not read it. */
export type StateDef = { [key: string]: any };

/** A declarative rule: JSON data (docs/clp-rules.md), e.g. `{"<": [{"var": "intent.payload.amount"}, 0]}`. */
export type Rule = null | boolean | number | string | readonly Rule[] | { readonly [op: string]: unknown };

/** An intent definition: input name → type (`"number"`, `"string?"`, `"string[]"`, `"date?"`, …). */
export interface IntentDef {
  inputs: Record<string, string>;
}

/** The current intent as the contract's functions and the AI provider see it (a frozen copy). */
export interface Intent {
  name: string;
  payload: Record<string, Value>;
  complete: boolean;
}

/** What guards, `when` and `effects` receive: frozen copies of the intent and the state. */
export interface Context {
  intent: Intent;
  state: State;
}

/** A patch returned by JavaScript effects: path → new value, `undefined` or an {@link EffectOp}. */
export type Patch = Record<string, Value | EffectOp | undefined>;

/**
 * A guard. `deny` true (truthy) means the commit is denied. `suggest` (roadmap) proposes a
 * correction of the payload, surfaced on {@link GuardDeniedError.suggestion}.
 */
export interface Guard {
  name: string;
  deny: ((ctx: Readonly<Context>) => unknown) | Rule;
  suggest?: ((ctx: Readonly<Context>) => Record<string, Value> | undefined) | Rule;
}

/**
 * Declarative effects: an object of path → expression (all computed from the state before
 * the commit), or an array of effects applied in order (docs/clp-rules.md §Effects).
 */
export type EffectsRule = { readonly [path: string]: Rule } | ReadonlyArray<{ readonly [effect: string]: unknown }>;

/** A transition: when it applies and what it changes. */
export interface Transition {
  /** Chooses this transition for `commit()` without a name; a rule or a function. Absent: only by name. */
  when?: ((ctx: Readonly<Context>) => unknown) | Rule;
  /** The change: a function returning a patch (maybe a Promise: commit with `commitAsync`), or rules. */
  effects?: ((ctx: Readonly<Context>) => Patch | Promise<Patch>) | EffectsRule;
  /** Longest wait for async effects, ms (commitAsync); defaults to none. */
  timeoutMs?: number;
  /**
   * Undoes side effects of `effects` when the commit fails after they ran (timeout, an
   * effect the engine cannot apply, a failed persist). State was not changed.
   */
  rollback?: (ctx: Readonly<Context>, error: unknown) => void | Promise<void>;
}

/** A contract (clp-semantics.md §1, plus `constants` for rules and optional sections). */
export interface Contract {
  intents: Record<string, IntentDef>;
  state?: StateDef;
  guards?: Guard[];
  transitions: Record<string, Transition>;
  /** Values rules read as `{"var": "const.name"}`. */
  constants?: Record<string, Value>;
}

/** The contract's JavaScript functions, by position (what `{"$js": n}` stands for). */
export interface HostFunctions {
  deny: Array<((ctx: Readonly<Context>) => unknown) | undefined>;
  suggest: Array<((ctx: Readonly<Context>) => Record<string, Value> | undefined) | undefined>;
  when: Array<((ctx: Readonly<Context>) => unknown) | undefined>;
  effects: Array<((ctx: Readonly<Context>) => Patch | Promise<Patch>) | undefined>;
  transitions: string[];
}

const isFn = (v: unknown): v is (...a: any[]) => any => typeof v === "function";

/**
 * The engine descriptor of a contract and its JavaScript functions.
 * @throws TypeError when the contract is not an object with intents and transitions
 */
export function describe(contract: Contract): { descriptor: ClaspValueInput; fns: HostFunctions } {
  if (typeof contract !== "object" || contract === null) throw new TypeError("a contract must be an object");
  const fns: HostFunctions = { deny: [], suggest: [], when: [], effects: [], transitions: [] };
  const guards = (contract.guards ?? []).map((g, i) => {
    fns.deny[i] = isFn(g?.deny) ? g.deny : undefined;
    fns.suggest[i] = isFn(g?.suggest) ? g.suggest : undefined;
    return {
      name: g?.name as ClaspValueInput,
      deny: isFn(g?.deny) ? { $js: i } : (toClasp(g?.deny) ?? null),
      suggest: g?.suggest === undefined || isFn(g.suggest) ? null : toClasp(g.suggest),
    };
  });
  const transitions: Record<string, ClaspValueInput> = {};
  Object.entries(contract.transitions ?? {}).forEach(([name, t], i) => {
    fns.transitions[i] = name;
    fns.when[i] = isFn(t?.when) ? t.when : undefined;
    fns.effects[i] = isFn(t?.effects) ? t.effects : undefined;
    transitions[name] = {
      when: isFn(t?.when) ? { $js: i } : (toClasp(t?.when) ?? null),
      effects: isFn(t?.effects) ? { $js: i } : (toClasp(t?.effects) ?? null),
    };
  });
  const descriptor = {
    intents: toClasp(contract.intents) ?? null,
    guards,
    transitions: contract.transitions === undefined ? null : transitions,
    constants: toClasp(contract.constants) ?? null,
  };
  return { descriptor, fns };
}
