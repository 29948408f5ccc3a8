/**
 * `npm run bench [-- <name>… [--option …]]`: runs bench/<name>.bench.ts (all of them by default)
 * in this process, one after another. Each bench module exports `default async function (): Promise<void>`
 * that measures ours and its peer in the same run and prints a table with the ratio. Arguments
 * from the first `--option` on are the benches' own (they read process.argv).
 */
import { readdir } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";
import { cpus } from "node:os";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith("-"));
const wanted = firstOption < 0 ? args : args.slice(0, firstOption);
const files = (await readdir(here)).filter((f) => f.endsWith(".bench.ts")).sort();
/**
 * Benches that also run when another is named: `npm run bench -- relay` includes the relay
 * cluster's and the workerd room's, except when `--rows` picks rows of the named bench.
 */
const COMPANIONS: Record<string, string[]> = { relay: ["relay-cluster", "relay-workerd"] };
const rowsPicked = args.includes("--rows");
const named = wanted.flatMap((w) => [w, ...(rowsPicked ? [] : (COMPANIONS[w] ?? []))]);
const chosen = wanted.length ? files.filter((f) => named.includes(f.replace(/\.bench\.ts$/, ""))) : files;
if (wanted.some((w) => !files.includes(`${w}.bench.ts`))) {
  console.error(`unknown bench; available: ${files.map((f) => f.replace(/\.bench\.ts$/, "")).join(", ")}`);
  process.exit(2);
}
console.log(`# clawft benchmarks — Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}\n`);
for (const file of chosen) {
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { default: () => Promise<void> };
  console.log(`## ${file.replace(/\.bench\.ts$/, "")}\n`);
  await mod.default();
  console.log();
}
