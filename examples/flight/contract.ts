/**
 * Flight booking (clp-semantics.md §14.2): several intents, guards that read state, and
 * transitions chosen by their `when`. As functions and as rules.
 */
import { createContract, unset, type Context } from "../../src/clp/index.js";

const is = (name: string) => (ctx: Context) => ctx.intent.name === name;

export const flight = createContract({
  intents: {
    searchFlights: { inputs: { from: "string", to: "string", date: "date?" } },
    selectFlight: { inputs: { flightId: "string" } },
    confirmBooking: { inputs: {} },
  },
  state: { flights: "array", selectedFlight: "string", booking: "object" },
  guards: [
    { name: "no_past_dates", deny: (c: Context) => is("searchFlights")(c) && c.intent.payload.date != null && new Date(c.intent.payload.date) < new Date() },
    { name: "flight_must_exist_for_select", deny: (c: Context) => is("selectFlight")(c) && !(c.state.flights ?? []).some((f: { id: string }) => f.id === c.intent.payload.flightId) },
    { name: "cannot_confirm_without_selection", deny: (c: Context) => is("confirmBooking")(c) && c.state.selectedFlight == null },
    { name: "cannot_confirm_twice", deny: (c: Context) => is("confirmBooking")(c) && c.state.booking != null },
  ],
  transitions: {
    performSearch: {
      when: is("searchFlights"),
      effects: (c: Context) => {
        const { from, to, date } = c.intent.payload;
        return { flights: [{ id: "1", from, to, date }], selectedFlight: unset() };
      },
    },
    selectFlight: { when: is("selectFlight"), effects: (c: Context) => ({ selectedFlight: c.intent.payload.flightId }) },
    confirmBooking: { when: is("confirmBooking"), effects: (c: Context) => ({ booking: { flightId: c.state.selectedFlight, status: "confirmed" } }) },
  },
});

const named = (name: string) => ({ "==": [{ var: "intent.name" }, name] });
const payload = (k: string) => ({ var: `intent.payload.${k}` });

export const flightRules = createContract({
  intents: flight.intents,
  state: flight.state,
  guards: [
    { name: "no_past_dates", deny: { and: [named("searchFlights"), { "!=": [payload("date"), null] }, { "<": [payload("date"), { now: [] }] }] } },
    {
      name: "flight_must_exist_for_select",
      deny: { and: [named("selectFlight"), { not: { some: [{ var: ["state.flights", []] }, { "==": [{ var: "item.id" }, payload("flightId")] }] } }] },
    },
    { name: "cannot_confirm_without_selection", deny: { and: [named("confirmBooking"), { "==": [{ var: "state.selectedFlight" }, null] }] } },
    { name: "cannot_confirm_twice", deny: { and: [named("confirmBooking"), { "!=": [{ var: "state.booking" }, null] }] } },
  ],
  transitions: {
    performSearch: {
      when: named("searchFlights"),
      effects: [
        { set: ["flights", [{ object: { id: "1", from: payload("from"), to: payload("to"), date: payload("date") } }]] },
        { delete: "selectedFlight" },
      ],
    },
    selectFlight: { when: named("selectFlight"), effects: { selectedFlight: payload("flightId") } },
    confirmBooking: { when: named("confirmBooking"), effects: { booking: { object: { flightId: { var: "state.selectedFlight" }, status: "confirmed" } } } },
  },
});
