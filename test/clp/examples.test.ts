/** The examples run, and the function and rule versions of each behave the same. */
import { describe, it, expect } from "vitest";
import { run as counter } from "../../examples/counter/run.js";
import { counter as counterFns, counterRules } from "../../examples/counter/contract.js";
import { run as flight } from "../../examples/flight/run.js";
import { flight as flightFns, flightRules } from "../../examples/flight/contract.js";
import { run as reminder } from "../../examples/reminder/run.js";
import { reminder as reminderFns, reminderRules } from "../../examples/reminder/contract.js";
import { run as classifier } from "../../examples/classifier/run.js";
import { classifier as classifierFns, classifierRules } from "../../examples/classifier/contract.js";

describe("examples", () => {
  it("counter: AI fills the optional amount; a negative amount is denied", async () => {
    const want = ['AI proposed {"amount":1}', "count = 1", "count = 6", "GuardDeniedError: Guard no_negative_increment denied", "count = 6, log entries = 8"];
    expect(await counter(counterFns)).toEqual(want);
    expect(await counter(counterRules)).toEqual(want);
  });

  it("flight: search, select an existing flight, confirm once", async () => {
    const want = ["flights: 1", "Guard flight_must_exist_for_select denied", 'booking: {"flightId":"1","status":"confirmed"}', "Guard cannot_confirm_twice denied", "Guard no_past_dates denied"];
    expect(await flight(flightFns)).toEqual(want);
    expect(await flight(flightRules)).toEqual(want);
  });

  it("reminder: AI date, manual date, extra field refused, date required by policy, Zod", async () => {
    const want = [
      "saved with AI date: true",
      'saved: {"text":"dentist","date":"2031-05-01T09:00:00.000Z"}',
      "Proposal contains invalid field: extra",
      "Guard must_have_date denied",
      "ValidationError",
    ];
    expect(await reminder(reminderFns)).toEqual(want);
    expect(await reminder(reminderRules)).toEqual(want);
  });

  it("classifier: allowed category applied, others and empty text blocked", async () => {
    const want = ["lastCategory = tech", "Guard category_must_be_allowed denied", "Guard must_have_text denied", "classifications = 1, last permitted = true"];
    expect(await classifier(classifierFns)).toEqual(want);
    expect(await classifier(classifierRules)).toEqual(want);
  });
});
