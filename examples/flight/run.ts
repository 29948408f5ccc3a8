/** The flight run: search with an AI-proposed date → select → confirm → confirm again (denied). */
import { createRuntime, type Contract } from "../../src/clp/index.js";
import { flight, flightRules } from "./contract.js";

/** A fake AI: proposes a date 30 days ahead. */
const ai = async () => ({ date: new Date(Date.now() + 30 * 86400_000).toISOString().slice(0, 10) });

export async function run(contract: Contract): Promise<string[]> {
  const out: string[] = [];
  const rt = createRuntime(contract, ai);
  rt.dispatch("searchFlights", { from: "BER", to: "LIS" });
  await rt.propose("searchFlights");
  rt.acceptProposal("searchFlights");
  rt.commit();
  out.push(`flights: ${rt.getState("flights").length}`);
  rt.dispatch("selectFlight", { flightId: "9" });
  try {
    rt.commit();
  } catch (e) {
    out.push((e as Error).message);
  }
  rt.dispatch("selectFlight", { flightId: "1" });
  rt.commit();
  rt.dispatch("confirmBooking", {});
  rt.commit();
  out.push(`booking: ${JSON.stringify(rt.getState("booking"))}`);
  rt.dispatch("confirmBooking", {});
  try {
    rt.commit();
  } catch (e) {
    out.push((e as Error).message);
  }
  rt.dispatch("searchFlights", { from: "BER", to: "LIS", date: "2001-01-01" });
  try {
    rt.commit();
  } catch (e) {
    out.push((e as Error).message);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [name, c] of [["functions", flight], ["rules", flightRules]] as const) console.log(name, await run(c));
}
