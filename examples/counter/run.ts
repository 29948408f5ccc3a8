/** The counter's run (`npx tsx examples/counter/run.ts`): AI fills an optional value, a guard blocks a negative one. */
import { createRuntime, type Contract } from "../../src/clp/index.js";
import { counter, counterRules } from "./contract.js";

/** A fake AI: proposes amount 1 when the caller gave none. */
const ai = async (intent: { payload: Record<string, unknown> }) => (intent.payload.amount === undefined ? { amount: 1 } : {});

/** Runs the scenario; returns what happened, line by line. */
export async function run(contract: Contract): Promise<string[]> {
  const out: string[] = [];
  const rt = createRuntime(contract, ai);
  rt.dispatch("increment", {}); // complete already: amount is optional
  const proposal = await rt.propose("increment");
  out.push(`AI proposed ${JSON.stringify(proposal)}`);
  rt.acceptProposal("increment");
  rt.commit();
  out.push(`count = ${rt.getState("count")}`);
  rt.dispatch("increment", { amount: 5 });
  rt.commit();
  out.push(`count = ${rt.getState("count")}`);
  rt.dispatch("increment", { amount: -3 });
  try {
    rt.commit();
  } catch (e) {
    out.push(`${(e as Error).name}: ${(e as Error).message}`);
  }
  out.push(`count = ${rt.getState("count")}, log entries = ${rt.getLog().length}`);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [name, c] of [["functions", counter], ["rules", counterRules]] as const) console.log(name, await run(c));
}
