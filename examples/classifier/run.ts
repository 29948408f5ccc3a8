/** The classifier run: an accepted AI category is applied; a category outside the allow-list is blocked at commit. */
import { createRuntime, type Contract } from "../../src/clp/index.js";
import { classifier, classifierRules } from "./contract.js";

let answer = "tech";
/** A fake AI classifier. */
const ai = async () => ({ category: answer });

export async function run(contract: Contract): Promise<string[]> {
  const out: string[] = [];
  answer = "tech";
  const rt = createRuntime(contract, ai);
  rt.dispatch("classifyText", { text: "New GPU announced" });
  await rt.propose("classifyText");
  rt.acceptProposal("classifyText");
  rt.commit();
  out.push(`lastCategory = ${rt.getState("lastCategory")}`);
  answer = "cooking";
  rt.dispatch("classifyText", { text: "Pasta recipes" });
  await rt.propose("classifyText");
  rt.acceptProposal("classifyText");
  try {
    rt.commit();
  } catch (e) {
    out.push((e as Error).message);
  }
  rt.dispatch("classifyText", { text: "   ", category: "tech" });
  try {
    rt.commit();
  } catch (e) {
    out.push((e as Error).message);
  }
  // v0.1's run.ts read getLog()[0] (the dispatch entry, always false); the last entry is the commit's
  out.push(`classifications = ${rt.getState("classifications").length}, last permitted = ${rt.getLog().filter((e) => e.transitionResult.permitted).length > 0}`);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [name, c] of [["functions", classifier], ["rules", classifierRules]] as const) console.log(name, await run(c));
}
