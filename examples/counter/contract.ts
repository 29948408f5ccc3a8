/**
 * The counter (clp-semantics.md §14.1): one optional input, a guard against negative
 * amounts, one transition. Written twice: with JavaScript functions (v0.1 style) and as
 * declarative rules the wasm engine evaluates by itself. In your project, import from
 * "clawft/clp".
 */
import { createContract, type Context } from "../../src/clp/index.js";

export const counter = createContract({
  intents: { increment: { inputs: { amount: "number?" } } },
  state: { count: "number" },
  guards: [{ name: "no_negative_increment", deny: (ctx: Context) => ctx.intent.payload.amount < 0 }],
  transitions: {
    applyIncrement: {
      when: (ctx: Context) => ctx.intent.complete,
      effects: (ctx: Context) => ({ count: (ctx.state.count ?? 0) + (ctx.intent.payload.amount ?? 1) }),
    },
  },
});

export const counterRules = createContract({
  intents: { increment: { inputs: { amount: "number?" } } },
  state: { count: "number" },
  guards: [{ name: "no_negative_increment", deny: { "<": [{ var: "intent.payload.amount" }, 0] } }],
  transitions: {
    applyIncrement: {
      when: { var: "intent.complete" },
      effects: { count: { "+": [{ var: ["state.count", 0] }, { "??": [{ var: "intent.payload.amount" }, 1] }] } },
    },
  },
});
