/**
 * Sagas (roadmap §8): multi-step workflows over one runtime. Each step dispatches an intent
 * and commits it; when a step fails, the completed steps are compensated in reverse order —
 * by a function, or (governed) by an intent the contract commits like any other.
 * @module
 */
import type { CommitResult, Runtime } from "./runtime.js";

/** What step payloads and compensations see. */
export interface SagaContext {
  /** The input `runSaga` was given. */
  input: Record<string, unknown>;
  /** Commit results of the steps completed so far, by step name. */
  results: Record<string, CommitResult>;
  /** Reads the runtime's state (`runtime.getState`). */
  state(key?: string): unknown;
}

/** A compensation: a function, or an intent to dispatch and commit. */
export type Compensation =
  | ((ctx: SagaContext) => void | Promise<void>)
  | { intent: string; payload?: Record<string, unknown> | ((ctx: SagaContext) => Record<string, unknown>); transition?: string };

/** One step of a saga. */
export interface SagaStep {
  name: string;
  intent: string;
  payload?: Record<string, unknown> | ((ctx: SagaContext) => Record<string, unknown>);
  /** Commit this transition by name (else the one whose `when` holds). */
  transition?: string;
  /** Ask the runtime's AI provider for a proposal and accept it before committing. Defaults to false. */
  propose?: boolean;
  /** Undoes this step when a later one fails. */
  compensate?: Compensation;
}

/** A saga: named steps run in order. */
export interface Saga {
  name: string;
  steps: SagaStep[];
}

/** How a saga ended. */
export interface SagaResult {
  /** completed: every step committed; compensated: a step failed and every completed step was compensated; failed: a compensation failed too. */
  status: "completed" | "compensated" | "failed";
  /** Steps that committed, in order. */
  completed: string[];
  results: Record<string, CommitResult>;
  failedStep?: string;
  error?: unknown;
  compensationErrors: Array<{ step: string; error: unknown }>;
}

const payloadOf = (p: SagaStep["payload"], ctx: SagaContext): Record<string, unknown> => (typeof p === "function" ? p(ctx) : (p ?? {}));

async function run(rt: Runtime, intent: string, payload: Record<string, unknown>, transition: string | undefined, key: string, propose: boolean): Promise<CommitResult> {
  rt.dispatch(intent, payload);
  if (propose && (await rt.propose(intent))) rt.acceptProposal(intent);
  return rt.commitAsync(transition, { idempotencyKey: key });
}

/**
 * Runs `saga` on `runtime`. Each commit carries the idempotency key `<id>/<step>` (and
 * `<id>/<step>/compensate`), so re-running a saga with the same `id` after a crash does not
 * apply a step twice.
 * @param input passed to payload functions and compensations
 * @param id saga instance id. Defaults to a random UUID.
 */
export async function runSaga(runtime: Runtime, saga: Saga, input: Record<string, unknown> = {}, id: string = crypto.randomUUID()): Promise<SagaResult> {
  const results: Record<string, CommitResult> = {};
  const ctx: SagaContext = { input, results, state: (key) => runtime.getState(key) };
  const completed: SagaStep[] = [];
  for (const step of saga.steps) {
    try {
      results[step.name] = await run(runtime, step.intent, payloadOf(step.payload, ctx), step.transition, `${id}/${step.name}`, step.propose ?? false);
      completed.push(step);
    } catch (error) {
      const compensationErrors: SagaResult["compensationErrors"] = [];
      const names = completed.map((s) => s.name);
      for (const done of [...completed].reverse()) {
        const c = done.compensate;
        if (!c) continue;
        try {
          if (typeof c === "function") await c(ctx);
          else await run(runtime, c.intent, payloadOf(c.payload, ctx), c.transition, `${id}/${done.name}/compensate`, false);
        } catch (e) {
          compensationErrors.push({ step: done.name, error: e });
        }
      }
      return {
        status: compensationErrors.length ? "failed" : "compensated",
        completed: names,
        results,
        failedStep: step.name,
        error,
        compensationErrors,
      };
    }
  }
  return { status: "completed", completed: completed.map((s) => s.name), results, compensationErrors: [] };
}
