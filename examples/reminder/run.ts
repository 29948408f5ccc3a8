/** The reminder run: AI fills the date; a manual date works without AI; an extra field is refused; Zod checks the text. */
import { z } from "zod";
import { createRuntime, type Contract } from "../../src/clp/index.js";
import { reminder, reminderRules } from "./contract.js";

let extra = false;
/** A fake AI: proposes a date 7 days ahead (and, once, an undeclared field). */
const ai = async () => ({ date: new Date(Date.now() + 7 * 86400_000).toISOString(), ...(extra ? { extra: 1 } : {}) });
const schema = { createReminder: z.object({ text: z.string().min(1).max(200), date: z.iso.datetime().optional() }) };

export async function run(contract: Contract): Promise<string[]> {
  const out: string[] = [];
  const rt = createRuntime(contract, ai, { validation: { schema, strict: true } });
  rt.dispatch("createReminder", { text: "call mum" });
  await rt.propose("createReminder");
  rt.acceptProposal("createReminder");
  rt.commit();
  out.push(`saved with AI date: ${typeof rt.getState("reminder").date === "string"}`);
  rt.dispatch("createReminder", { text: "dentist", date: "2031-05-01T09:00:00.000Z" });
  rt.commit();
  out.push(`saved: ${JSON.stringify(rt.getState("reminder"))}`);
  extra = true;
  rt.dispatch("createReminder", { text: "x" });
  await rt.propose("createReminder").catch((e: Error) => out.push(e.message));
  extra = false;
  rt.dispatch("createReminder", { text: "no date" });
  try {
    rt.commit();
  } catch (e) {
    out.push((e as Error).message);
  }
  try {
    rt.dispatch("createReminder", { text: "" });
  } catch (e) {
    out.push((e as Error).name);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [name, c] of [["functions", reminder], ["rules", reminderRules]] as const) console.log(name, await run(c));
}
