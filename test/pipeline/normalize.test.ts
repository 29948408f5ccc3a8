import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { join } from "node:path";
import { PipelineError } from "../../src/pipeline/errors.js";
import { executePipeline } from "../../src/pipeline/executor.js";
import type { PluginInfo } from "../../src/pipeline/manifest.js";
import { nodeRunners } from "../../src/pipeline/node/runners.js";
import { collect, loadPlugin, pipelineOf, PLUGINS } from "./helpers.js";

const runners = nodeRunners();
let normalize: PluginInfo;
beforeAll(async () => {
  normalize = await loadPlugin(join(PLUGINS, "normalize"));
});

/** Runs normalize on `chunks` (each becomes its own frame) with `options`. */
async function run(chunks: Array<string | Uint8Array>, options: Record<string, boolean> = {}): Promise<string> {
  async function* input() {
    for (const c of chunks) yield typeof c === "string" ? new TextEncoder().encode(c) : c;
  }
  return new TextDecoder().decode(await collect(executePipeline(pipelineOf([{ plugin: normalize, options }]), input(), { runners })));
}

// [input, expected output], one paragraph each: all of them go through one run.
const CASES: Array<[string, string]> = [
  ["Dr. Smith met Mr. Jones and Mrs. Brown.", "Doctor Smith met Mister Jones and Missus Brown."],
  ["It cost $1,234.50 in total.", "It cost one thousand two hundred thirty-four dollars and fifty cents in total."],
  ["Only $1 or £2.01 or €5.", "Only one dollar or two pounds and one penny or five euros."],
  ["The 3rd, 21st and 100th runners.", "The third, twenty-first and one hundredth runners."],
  ["In 1999, 1900, 2005 and 2024.", "In nineteen ninety-nine, nineteen hundred, two thousand five and twenty twenty-four."],
  ["At 10:30 or 7:05 or 9:00.", "At ten thirty or seven oh five or nine o'clock."],
  ["About 50% of 3.14 is -7, or 3-5 times 1,000,000.", "About fifty percent of three point one four is minus seven, or three to five times one million."],
  ["St. Mary's is on Main St. near No. 5.", "Saint Mary's is on Main Street near Number five."],
  ["Apples, pears, etc. Then e.g. figs, i.e. fruit.", "Apples, pears, et cetera. Then for example figs, that is fruit."],
  ["Born Jan. 2nd; died Dec. 31st.", "Born January second; died December thirty-first."],
  ["Tom & Jerry vs. Spike.", "Tom and Jerry versus Spike."],
  ["A number 12345678901234567890 too long.", "A number one two three four five six seven eight nine zero one two three four five six seven eight nine zero too long."],
  ["café ünïcödé 日本語 🎉 stay.", "café ünïcödé 日本語 🎉 stay."],
  ["Spaces \t and\ttabs   collapse\u00a0here.", "Spaces and tabs collapse here."],
];

describe("normalize (AssemblyScript, WASI command)", () => {
  it("reads numbers, abbreviations and whitespace as speech", async () => {
    const out = await run([CASES.map((c) => c[0]).join("\n\n\n")]);
    expect(out.endsWith("\n")).toBe(true);
    expect(out.trimEnd().split("\n\n")).toEqual(CASES.map((c) => c[1]));
  });

  it("keeps paragraphs, joins wrapped lines, trims the ends", async () => {
    expect(await run(["  \n first line\nwrapped here.\n\n\n\nSecond   paragraph.  \n"])).toBe("first line wrapped here.\n\nSecond paragraph.\n");
  });

  it("gives the same output however the input is cut into frames (mid-word, mid-character)", async () => {
    const text = "Dr. Who paid $12.50 on Jan. 3rd, 1999 — café 日本 🎉 at 10:30.\n\nSt. Ives is 250 miles away, etc. The end.";
    const bytes = new TextEncoder().encode(text);
    const whole = await run([bytes]);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { minLength: 1, maxLength: 12 }), async (cuts) => {
        const sorted = [...cuts].sort((a, b) => a - b);
        const pieces = [0, ...sorted].map((c, i) => bytes.subarray(c, sorted[i] ?? bytes.length));
        expect(await run(pieces)).toBe(whole);
      }),
      { numRuns: 6 },
    );
  });

  it("honours its options", async () => {
    expect(await run(["Dr. Kay has 42 cats since 1999."], { numbers: false })).toBe("Doctor Kay has 42 cats since 1999.\n");
    expect(await run(["Dr. Kay has 42 cats since 1999."], { abbreviations: false, years: false })).toBe("Dr. Kay has forty-two cats since one thousand nine hundred ninety-nine.\n");
  });

  it("gives no output for empty input", async () => {
    expect(await run([])).toBe("");
  });

  it("refuses invalid UTF-8 with an INVALID_INPUT error frame naming the byte", async () => {
    const err = await run([new Uint8Array([0x41, 0x42, 0xff, 0x43])]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect(err).toMatchObject({ code: "PLUGIN_ERROR", pluginError: { type: "INVALID_INPUT", message: "input is not valid UTF-8 at byte 2", fatal: true } });
    const cut = await run([new Uint8Array([0x41, 0xe2, 0x82])]).catch((e: unknown) => e);
    expect(cut).toMatchObject({ pluginError: { type: "INVALID_INPUT" } });
  });
});
