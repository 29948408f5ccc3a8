/**
 * `clawft/clp`: the Contract Language Protocol runtime. AI may *propose* values; only a
 * contract's guards and transitions *commit* them; every step is logged (docs/clp.md).
 * The v0.1 API (`createContract`, `createRuntime`, `dispatch`, `propose`, `acceptProposal`,
 * `commit`, `getState`, `subscribe`, `getLog`) runs on the wasm engine core; guards,
 * `when` and `effects` may be JavaScript functions or declarative rules (docs/clp-rules.md).
 *
 * ```ts
 * import { createContract, createRuntime } from "clawft/clp";
 * const contract = createContract({
 *   intents: { increment: { inputs: { amount: "number?" } } },
 *   state: { count: "number" },
 *   guards: [{ name: "no_negative", deny: { "<": [{ var: "intent.payload.amount" }, 0] } }],
 *   transitions: {
 *     applyIncrement: {
 *       when: { var: "intent.complete" },
 *       effects: { count: { "+": [{ var: ["state.count", 0] }, { "??": [{ var: "intent.payload.amount" }, 1] }] } },
 *     },
 *   },
 * });
 * const rt = createRuntime(contract);
 * rt.dispatch("increment", { amount: 5 });
 * rt.commit();
 * rt.getState("count"); // 5
 * ```
 * Importing this module loads the engine core once (top-level await). Hosts that must supply
 * the wasm themselves (Cloudflare workerd) call {@link initClp} with the modules first.
 * @module
 */
import { ClpCore } from "./core.js";
import type { WasmSource } from "../core/loader.js";
import type { ClaspCodec } from "../clasp/index.js";
import { describe, type Contract } from "./contract.js";
import { Runtime, type AiProvider, type RuntimeOptions } from "./runtime.js";

export * from "./contract.js";
export * from "./errors.js";
export * from "./runtime.js";
export { push, insert, remove, splice, filter, unset, isEffectOp, type EffectOp } from "./ops.js";
export { EventStore, type ClpEvent } from "./events.js";
export { ClpCore } from "./core.js";
export { runSaga, type Saga, type SagaStep, type SagaResult } from "./saga.js";
export { governAddresses, type GovernableRouter, type GovernOptions, type SetInterceptor } from "./govern.js";
export { replayStateHash } from "./determinism.js";

let shared: ClpCore | undefined;
let loadError: unknown;
try {
  shared = await ClpCore.load();
} catch (e) {
  loadError = e;
}

/**
 * Loads the engine core from `source` (and marshals with `codec`) for the runtimes created
 * afterwards. Needed only where the default load fails (Cloudflare workerd: pass the
 * imported `WebAssembly.Module`s).
 * @throws Error when the module cannot be loaded
 */
export async function initClp(source?: WasmSource, codec?: ClaspCodec): Promise<ClpCore> {
  shared = await ClpCore.load(source, codec);
  return shared;
}

function core(options?: RuntimeOptions): ClpCore {
  const c = options?.core ?? shared;
  if (!c) throw new Error(`the CLP engine core is not loaded (${String(loadError)}); call await initClp(source) first`);
  return c;
}

/**
 * Checks a contract and returns a shallow copy of it (as v0.1 did). Unlike v0.1 it compiles
 * the contract once: rules with syntax errors, unknown type words and malformed paths throw
 * here rather than at the first commit.
 * @throws ContractError (with the location, e.g. `transitions.book.effects[0]`)
 */
export function createContract<C extends Contract>(config: C): C {
  const c = core();
  c.destroy(c.create(describe(config).descriptor));
  return { ...config };
}

/**
 * Creates a runtime for `contract`.
 * @param aiProvider proposes values for the current intent (`propose`)
 * @param options persistence, middleware, validation, clock (see {@link RuntimeOptions})
 * @throws ContractError when the contract does not compile
 */
export function createRuntime(contract: Contract, aiProvider?: AiProvider, options: RuntimeOptions = {}): Runtime {
  return new Runtime(contract, aiProvider, options, core(options));
}

/** Like {@link createRuntime}, resolving once the stored state is loaded (`hydrateOnInit`). */
export async function openRuntime(contract: Contract, aiProvider?: AiProvider, options: RuntimeOptions = {}): Promise<Runtime> {
  const rt = createRuntime(contract, aiProvider, options);
  await rt.ready;
  return rt;
}
