/**
 * What the agent panel (web/panels/agent.ts) and the agent's page runner
 * (web/panels/agent-chat.ts) share, kept apart from the runner so the panel can use it without
 * loading the agent: whether this browser has JS Promise Integration, and the error type.
 *
 * JSPI (WebAssembly/js-promise-integration; on by default in Chromium since 137):
 * `WebAssembly.Suspending` wraps an import that may return a Promise, `WebAssembly.promising`
 * an export that may then suspend. The agent's browser build (build/jco/clawft-web/) needs both.
 * @module
 */

/** True when both halves of JSPI exist. */
export function hasJspi(): boolean {
  const wa = WebAssembly as unknown as { Suspending?: unknown; promising?: unknown };
  return typeof wa.Suspending === "function" && typeof wa.promising === "function";
}

/** A problem running the agent in the page (not the agent's own errors, which are its stderr and exit code). */
export class AgentWebError extends Error {
  override name = "AgentWebError";
}

/** Throws {@link AgentWebError} when this browser lacks JSPI. */
export function requireJspi(): void {
  if (!hasJspi()) throw new AgentWebError("this browser lacks JS Promise Integration (WebAssembly.Suspending), which the agent's browser build needs");
}
