/**
 * The classifier (clp-semantics.md §14.4): AI output constrained by an allow-list guard.
 * As functions and as rules (the rule guard also suggests a valid category).
 */
import { createContract, push, type Context } from "../../src/clp/index.js";

const ALLOWED = ["tech", "sports", "business", "entertainment", "science"];

export const classifier = createContract({
  intents: { classifyText: { inputs: { text: "string", category: "string?" } } },
  state: { classifications: "array", lastCategory: "string" },
  guards: [
    { name: "must_have_text", deny: (c: Context) => String(c.intent.payload.text).trim() === "" },
    { name: "category_must_be_allowed", deny: (c: Context) => !ALLOWED.includes(c.intent.payload.category) },
  ],
  transitions: {
    applyClassification: {
      when: (c: Context) => c.intent.complete,
      effects: (c: Context) => ({
        classifications: push({ text: c.intent.payload.text, category: c.intent.payload.category, timestamp: new Date().toISOString() }),
        lastCategory: c.intent.payload.category,
      }),
    },
  },
});

export const classifierRules = createContract({
  intents: classifier.intents,
  state: classifier.state,
  constants: { allowed: ALLOWED },
  guards: [
    { name: "must_have_text", deny: { "==": [{ trim: { var: "intent.payload.text" } }, ""] } },
    {
      name: "category_must_be_allowed",
      deny: { not: { in: [{ var: "intent.payload.category" }, { var: "const.allowed" }] } },
      suggest: { object: { category: "tech" } },
    },
  ],
  transitions: {
    applyClassification: {
      when: { var: "intent.complete" },
      effects: [
        { push: ["classifications", { object: { text: { var: "intent.payload.text" }, category: { var: "intent.payload.category" }, timestamp: { now: [] } } }] },
        { set: ["lastCategory", { var: "intent.payload.category" }] },
      ],
    },
  },
});
