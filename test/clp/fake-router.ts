/**
 * An in-memory CLASP router that implements the {@link GovernableRouter} interface exactly as
 * src/clp/govern.ts documents it, for tests: params with revisions, subscriptions with the
 * router-trie pattern semantics of clasp-wire.md §5, SET handling with interceptors, ACK and
 * ERROR replies, and broadcast of SETs (with revision) to every matching subscriber.
 */
import type { ClaspValue } from "../../src/clasp/index.js";
import type { GovernableRouter, InterceptVerdict, SetInterceptor } from "../../src/clp/govern.js";

/** Router-trie matching (clasp-wire.md §5): `*` one (maybe empty) segment, `**` zero or more, `b*` partial. */
export function matches(pattern: string, address: string): boolean {
  const p = pattern.slice(1).split("/");
  const a = address.slice(1).split("/");
  const seg = (ps: string, as: string) => {
    if (ps === "*") return true;
    if (!ps.includes("*")) return ps === as;
    const re = new RegExp(`^${ps.split("*").map((x) => x.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*")}$`);
    return re.test(as);
  };
  const go = (i: number, j: number): boolean => {
    if (i === p.length) return j === a.length;
    if (p[i] === "**") {
      for (let k = j; k <= a.length; k++) if (go(i + 1, k)) return true;
      return false;
    }
    return j < a.length && seg(p[i]!, a[j]!) && go(i + 1, j + 1);
  };
  return go(0, 0);
}

/** What a session received. */
export type Received =
  | { type: "SET"; address: string; value: ClaspValue; revision: number }
  | { type: "ACK"; address: string; revision?: number }
  | { type: "ERROR"; code: number; message: string; address: string };

export class FakeRouter implements GovernableRouter {
  readonly params = new Map<string, { value: ClaspValue; revision: number }>();
  readonly inbox = new Map<string, Received[]>();
  readonly #subs: Array<{ session: string; pattern: string }> = [];
  readonly #interceptors: Array<{ patterns: readonly string[]; hook: SetInterceptor }> = [];
  /** Per-session queue: frames of one session are handled in order. */
  readonly #queues = new Map<string, Promise<void>>();

  interceptSet(patterns: readonly string[], hook: SetInterceptor): () => void {
    const entry = { patterns, hook };
    this.#interceptors.push(entry);
    return () => {
      const i = this.#interceptors.indexOf(entry);
      if (i >= 0) this.#interceptors.splice(i, 1);
    };
  }

  applySet(address: string, value: ClaspValue): number {
    return this.#store(address, value);
  }

  subscribe(session: string, pattern: string): void {
    this.#subs.push({ session, pattern });
  }

  /** A client SET; resolves after the router handled it (per-session order). */
  set(session: string, address: string, value: ClaspValue): Promise<void> {
    const prev = this.#queues.get(session) ?? Promise.resolve();
    const next = prev.then(() => this.#handleSet(session, address, value));
    this.#queues.set(session, next);
    return next;
  }

  received(session: string): Received[] {
    return this.inbox.get(session) ?? [];
  }

  #send(session: string, r: Received): void {
    const list = this.inbox.get(session) ?? [];
    list.push(r);
    this.inbox.set(session, list);
  }

  #store(address: string, value: ClaspValue): number {
    const revision = (this.params.get(address)?.revision ?? 0) + 1;
    this.params.set(address, { value, revision });
    for (const s of this.#subs) if (matches(s.pattern, address)) this.#send(s.session, { type: "SET", address, value, revision });
    return revision;
  }

  async #handleSet(session: string, address: string, value: ClaspValue): Promise<void> {
    for (const { patterns, hook } of [...this.#interceptors]) {
      if (!patterns.some((p) => matches(p, address))) continue;
      const verdict: InterceptVerdict = await hook({ address, value, session });
      if (verdict.action === "pass") continue;
      if (verdict.action === "deny") this.#send(session, { type: "ERROR", code: verdict.code, message: verdict.message, address });
      else this.#send(session, { type: "ACK", address });
      return;
    }
    const revision = this.#store(address, value);
    this.#send(session, { type: "ACK", address, revision });
  }
}
