/**
 * The playground's governance panel: a CLP contract on screen, run by the engine in a Worker
 * (clawft/clp/worker); a scripted "AI" on this thread proposes fader levels, guards deny the
 * unsafe ones (with a suggestion), commits land in the hash-chained event log, and a second
 * runtime in the same Worker verifies the chain live by appending each new event (a broken
 * link would be refused with EventLogError). "Tamper" flips one byte of the exported log and
 * shows the replay refusing it.
 * @module
 */
import type { Contract } from "../../src/clp/contract.js";
import { createClpWorker, type ClpWorker, type WorkerRuntime } from "../../src/clp/worker.js";

/** The contract on screen: an AI may propose a level; guards keep it safe. Declarative rules only (it crosses to a Worker). */
export const LEVEL_CONTRACT = {
  intents: { setLevel: { inputs: { level: "number?" } } },
  state: { level: "number", changes: "number" },
  guards: [
    { name: "max_level", deny: { ">": [{ var: "intent.payload.level" }, 0.8] }, suggest: { object: { level: 0.8 } } },
    { name: "no_jumps", deny: { ">": [{ abs: { "-": [{ var: "intent.payload.level" }, { var: ["state.level", 0] }] } }, 0.5] } },
    { name: "not_negative", deny: { "<": [{ var: "intent.payload.level" }, 0] } },
  ],
  transitions: {
    apply: {
      when: { var: "intent.complete" },
      effects: { level: { var: "intent.payload.level" }, changes: { "+": [{ var: ["state.changes", 0] }, 1] } },
    },
  },
} as const;

/** The scripted AI's proposals, in turn: some pass, some are denied by each guard. */
export const SCRIPT = [0.3, 0.6, 0.95, 0.75, 1.4, 0.2, 0.5, 0.3, -0.1, 0.1];

/** One step as the panel shows it (and tests read it). */
export interface GovernanceStep {
  proposed: number;
  committed: boolean;
  /** The denying guard, when denied. */
  guard?: string;
  suggestion?: Record<string, unknown>;
  state: { level?: number; changes?: number };
  head: { seq: number; hash: string };
  /** The verifier runtime's head after appending the new events equals `head`. */
  verified: boolean;
}

/** What the panel exposes on `window.playground.governance`. */
export interface GovernancePanel {
  ready: Promise<void>;
  /** One AI proposal through dispatch → propose → accept → commit. */
  step(): Promise<GovernanceStep>;
  /** Replays the log with one byte flipped; resolves with the error's name and message. */
  tamper(): Promise<{ name: string; message: string }>;
}

/** Fills `el` with the panel; see {@link GovernancePanel}. */
export function mountGovernancePanel(el: HTMLElement): GovernancePanel {
  el.innerHTML = `
<h2>Governance <small>CLP engine in a Worker · AI proposes, guards decide, commits are hash-chained</small></h2>
<details><summary>contract</summary><pre class="contract"></pre></details>
<div class="row"><button name="step" disabled>AI proposes</button><button name="run" disabled>10 steps</button><button name="tamper" disabled>tamper with the log</button></div>
<p class="state" role="status">starting the engine…</p>
<p class="chain"></p>
<div class="scroll"><table class="events"><thead><tr><th>seq</th><th>proposal</th><th>outcome</th><th>hash</th></tr></thead><tbody></tbody></table></div>`;
  el.querySelector(".contract")!.textContent = JSON.stringify(LEVEL_CONTRACT, null, 1);
  const buttons = [...el.querySelectorAll("button")];
  const stateEl = el.querySelector<HTMLElement>(".state")!;
  const chainEl = el.querySelector<HTMLElement>(".chain")!;
  const body = el.querySelector("tbody")!;

  let clp: ClpWorker;
  let rt: WorkerRuntime;
  let verifier: WorkerRuntime;
  let turn = 0;
  let verifiedSeq = 0;

  const ready = (async () => {
    clp = await createClpWorker(new Worker(new URL("../../workers/clp.worker.ts", import.meta.url), { type: "module" }));
    const contract = LEVEL_CONTRACT as unknown as Contract;
    rt = await clp.createRuntime(contract, () => ({ level: SCRIPT[turn++ % SCRIPT.length]! }));
    verifier = await clp.createRuntime(contract);
    stateEl.textContent = "state: level 0, 0 changes";
    for (const b of buttons) b.disabled = false;
  })();
  ready.catch((err: Error) => (stateEl.textContent = `the CLP Worker failed: ${err.message}`));

  function row(seq: string, proposal: number, outcome: string, hash: string, cls: string): void {
    const tr = body.insertRow(0);
    tr.className = cls;
    for (const t of [seq, proposal.toFixed(2), outcome, hash]) tr.insertCell().textContent = t;
    while (body.rows.length > 100) body.deleteRow(-1);
  }

  async function step(): Promise<GovernanceStep> {
    await ready;
    await rt.dispatch("setLevel", {});
    const proposal = (await rt.propose("setLevel")) as { level: number };
    await rt.acceptProposal("setLevel");
    let committed = true;
    let guard: string | undefined;
    let suggestion: Record<string, unknown> | undefined;
    try {
      await rt.commit();
    } catch (err) {
      if ((err as Error).name !== "GuardDeniedError") throw err;
      committed = false;
      guard = (err as { guard: string }).guard;
      suggestion = (err as { suggestion?: Record<string, unknown> }).suggestion;
    }
    const head = await rt.head();
    // Live verification: the new events go to the verifier, which checks each link.
    if (head.seq > verifiedSeq) await verifier.append(await rt.exportLog(verifiedSeq));
    const vh = await verifier.head();
    verifiedSeq = vh.seq;
    const verified = vh.seq === head.seq && vh.hash === head.hash;
    const state = (await rt.getState()) as { level?: number; changes?: number };
    row(committed ? String(head.seq) : "—", proposal.level, committed ? "committed" : `denied by ${guard}${suggestion ? ` (suggests ${JSON.stringify(suggestion)})` : ""}`, committed ? head.hash.slice(0, 16) : "", committed ? "" : "denied");
    stateEl.textContent = `state: level ${state.level ?? 0}, ${state.changes ?? 0} changes`;
    chainEl.textContent = verified ? `chain verified ✓ ${head.seq} events, head ${head.hash.slice(0, 16)}…` : `chain NOT verified: verifier at ${vh.seq} ${vh.hash.slice(0, 16)}`;
    chainEl.className = verified ? "chain ok" : "chain bad";
    return { proposed: proposal.level, committed, guard, suggestion, state, head, verified };
  }

  async function tamper(): Promise<{ name: string; message: string }> {
    await ready;
    const log = await rt.exportLog();
    if (log.length === 0) return { name: "", message: "the log is empty: commit something first" };
    log[log.length - 5]! ^= 0x01;
    const fresh = await clp.createRuntime(LEVEL_CONTRACT as unknown as Contract);
    try {
      await fresh.replay(log);
      return { name: "", message: "the tampered log was accepted" };
    } catch (err) {
      const e = err as Error;
      chainEl.textContent = `tampered log refused: ${e.name}: ${e.message}`;
      chainEl.className = "chain ok";
      return { name: e.name, message: e.message };
    } finally {
      await fresh.close();
    }
  }

  const report = (p: Promise<unknown>) => p.catch((err: Error) => (stateEl.textContent = `error: ${err.name}: ${err.message}`));
  buttons[0]!.addEventListener("click", () => void report(step()));
  buttons[1]!.addEventListener("click", () => void report((async () => { for (let i = 0; i < 10; i++) await step(); })()));
  buttons[2]!.addEventListener("click", () => void report(tamper()));
  return { ready, step, tamper };
}
