/**
 * The reminder (clp-semantics.md §14.3): `date` is optional for completeness but required by
 * policy (a guard), and the AI may fill it. As functions and as rules; the declarative one
 * also validates its payload with a Zod schema at runtime (see run.ts).
 */
import { createContract, type Context } from "../../src/clp/index.js";

export const reminder = createContract({
  intents: { createReminder: { inputs: { text: "string", date: "date?" } } },
  state: { reminder: "object" },
  guards: [{ name: "must_have_date", deny: (c: Context) => c.intent.payload.date == null }],
  transitions: {
    saveReminder: { when: (c: Context) => c.intent.complete, effects: (c: Context) => ({ reminder: { text: c.intent.payload.text, date: c.intent.payload.date } }) },
  },
});

export const reminderRules = createContract({
  intents: reminder.intents,
  state: reminder.state,
  guards: [{ name: "must_have_date", deny: { "==": [{ var: "intent.payload.date" }, null] } }],
  transitions: {
    saveReminder: {
      when: { var: "intent.complete" },
      effects: { reminder: { object: { text: { var: "intent.payload.text" }, date: { var: "intent.payload.date" } } } },
    },
  },
});
