import { createContract, createRuntime } from "./src/clp/index.ts";
const rt = createRuntime(createContract({
  intents: { increment: { inputs: { amount: "number?" } } },
  guards: [{ name: "g", deny: { "<": [{ var: "intent.payload.amount" }, 0] } }],
  transitions: { a: { when: { var: "intent.complete" }, effects: { count: { "+": [{ var: ["state.count", 0] }, { "??": [{ var: "intent.payload.amount" }, 1] }] } } } },
}));
for (let r = 0; r < 4; r++) { const t0 = performance.now();
for (let i = 0; i < 10000; i++) { rt.dispatch("increment", { amount: 1 }); rt.commit(); }
console.log(((performance.now() - t0) * 1000 / 10000).toFixed(1), "µs/commit"); }
