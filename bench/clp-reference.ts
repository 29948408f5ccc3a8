/**
 * The benchmark peer: a plain-TypeScript engine with CLP v0.1's semantics as
 * shared/reference/clp-semantics.md describes them (quirks included: live state, shallow
 * merge, identity diff, no persistence). Written for this benchmark only — clawft itself
 * runs contracts in wasm (src/clp).
 */

type Payload = Record<string, any>;
interface Intent {
  name: string;
  payload: Payload;
  complete: boolean;
}
interface Ctx {
  intent: Intent;
  state: Record<string, any>;
}
export interface RefContract {
  intents: Record<string, { inputs: Record<string, string> }>;
  guards: Array<{ name: string; deny: (ctx: Ctx) => boolean }>;
  transitions: Record<string, { when: (ctx: Ctx) => boolean; effects: (ctx: Ctx) => Record<string, any> }>;
}
interface Entry {
  timestamp: Date;
  intentName: string;
  intentPayload: Payload;
  stagedProposal?: Payload;
  acceptedProposal?: Payload;
  guardOutcomes: Array<{ name: string; denied: boolean }>;
  transitionAttempted?: string;
  transitionResult: { name?: string; permitted: boolean };
  stateDiff: Record<string, any>;
}

const complete = (payload: Payload, inputs: Record<string, string>) =>
  Object.entries(inputs).every(([k, t]) => t.endsWith("?") || (k in payload && payload[k] != null));

/** A v0.1-style runtime (synchronous except `propose`). */
export class ReferenceRuntime {
  state: Record<string, any> = {};
  log: Entry[] = [];
  subscribers = new Map<string, Array<(s: Record<string, any>) => void>>();
  current: Intent | undefined;
  staged: Payload | undefined;

  constructor(
    readonly contract: RefContract,
    readonly ai?: (i: Intent) => Promise<Payload>,
  ) {}

  dispatch(name: string, payload: Payload): void {
    const def = this.contract.intents[name];
    if (!def) throw new Error(`Unknown intent ${name}`);
    const p = { ...payload };
    this.current = { name, payload: p, complete: complete(p, def.inputs) };
    this.log.push({ timestamp: new Date(), intentName: name, intentPayload: { ...p }, guardOutcomes: [], transitionResult: { permitted: false }, stateDiff: {} });
  }

  async propose(name: string): Promise<Payload | null> {
    if (!this.current || this.current.name !== name || !this.ai) return null;
    const proposal = await this.ai(this.current);
    const inputs = this.contract.intents[name]!.inputs;
    for (const key in proposal) {
      if (!(key in inputs)) throw new Error(`Proposal contains invalid field: ${key}`);
      if (!inputs[key]!.endsWith("?") && key in this.current.payload) throw new Error(`Proposal tries to override required field: ${key}`);
    }
    this.staged = proposal;
    this.log.push({ timestamp: new Date(), intentName: name, intentPayload: { ...this.current.payload }, stagedProposal: proposal, guardOutcomes: [], transitionResult: { permitted: false }, stateDiff: {} });
    return proposal;
  }

  acceptProposal(name: string): void {
    if (!this.current || this.current.name !== name) throw new Error("No matching intent");
    if (!this.staged) throw new Error("No staged proposal to accept");
    Object.assign(this.current.payload, this.staged);
    this.current.complete = complete(this.current.payload, this.contract.intents[name]!.inputs);
    this.log.push({ timestamp: new Date(), intentName: name, intentPayload: { ...this.current.payload }, acceptedProposal: this.staged, guardOutcomes: [], transitionResult: { permitted: false }, stateDiff: {} });
    this.staged = undefined;
  }

  commit(transitionName?: string): void {
    const intent = this.current;
    if (!intent) throw new Error("No intent to commit");
    if (this.staged) throw new Error("Unaccepted AI proposal present");
    if (!intent.complete) throw new Error("Intent is incomplete");
    const ctx = { intent, state: this.state };
    const outcomes: Array<{ name: string; denied: boolean }> = [];
    const entry = (e: Partial<Entry>) => this.log.push({ timestamp: new Date(), intentName: intent.name, intentPayload: { ...intent.payload }, stagedProposal: undefined, guardOutcomes: outcomes, transitionAttempted: transitionName, transitionResult: { permitted: false }, stateDiff: {}, ...e });
    for (const g of this.contract.guards) {
      const denied = g.deny(ctx);
      outcomes.push({ name: g.name, denied });
      if (denied) {
        entry({});
        throw new Error(`Guard ${g.name} denied`);
      }
    }
    let name = transitionName;
    let t;
    if (name) {
      t = this.contract.transitions[name];
      if (!t) {
        entry({});
        throw new Error("No matching transition");
      }
    } else {
      const matches = Object.entries(this.contract.transitions).filter(([, tr]) => tr.when(ctx));
      if (matches.length !== 1) throw new Error(`Expected exactly one matching transition, found ${matches.length}`);
      [name, t] = matches[0]!;
    }
    const next = { ...this.state, ...t.effects(ctx) };
    const diff: Record<string, any> = {};
    for (const k in next) if (!(k in this.state) || next[k] !== this.state[k]) diff[k] = next[k];
    this.state = next;
    entry({ transitionAttempted: name, transitionResult: { name, permitted: true }, stateDiff: diff });
    for (const [key, cbs] of this.subscribers) if (key in diff) for (const cb of cbs) cb(next);
    this.current = undefined;
    this.staged = undefined;
  }

  getState(key: string): any {
    return this.state[key];
  }
}
