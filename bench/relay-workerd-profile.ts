/**
 * Where a CLASP room's time goes under the relay-workerd bench's load: starts the room in
 * workerd with its inspector open (`workerd serve --inspector-addr`), connects the bench's
 * clients (20 subscribed to `/bench/**`, 4 publishing events) and, while they saturate it,
 * records a V8 CPU profile of the Worker's isolate over the Chrome DevTools protocol
 * (`Profiler.start` / `Profiler.stop`). Prints the self time of the hottest functions and the
 * share of the profile spent in JavaScript, in wasm and in the runtime (samples outside any
 * JavaScript function: workerd's C++ event delivery and WebSocket writes, garbage collection).
 *
 *   npx tsx bench/relay-workerd-profile.ts [seconds=4] [--cpuprofile out.cpuprofile]
 *   npx tsx bench/relay-workerd-profile.ts --rate [rounds=3] [--entry workers/x.ts]
 *     (no profiler: the Node relay's and the room's saturation and CPU per delivered message,
 *     per round and median; `--entry` bundles another Worker, e.g. an earlier room, for A/B)
 *
 * The `.cpuprofile` opens in Chrome DevTools (Performance) for a flame chart.
 * @module
 */
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import WebSocket from "ws";
import { freePort, workerdMissing } from "../test/cloudflare/workerd.js";
import { fmt, median, saturate, table } from "./util.js";
import { CLIENTS, connectClients, publish, startNode, startWorkerd } from "./relay-workerd.bench.js";

/** A node of a V8 CPU profile (devtools-protocol Profiler.ProfileNode). */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

/** A V8 CPU profile (devtools-protocol Profiler.Profile): samples are node ids, timeDeltas µs. */
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** A tiny Chrome DevTools protocol client over one WebSocket: one request at a time is enough here. */
async function devtools(url: string): Promise<{ send: (method: string, params?: object) => Promise<Record<string, unknown>>; close: () => void }> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let next = 1;
  const pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  ws.on("message", (data: Buffer) => {
    const m = JSON.parse(data.toString()) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
    const p = m.id !== undefined ? pending.get(m.id) : undefined;
    if (!p) return;
    pending.delete(m.id!);
    if (m.error) p.reject(new Error(m.error.message));
    else p.resolve(m.result ?? {});
  });
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** Self time per function (name @ file:line) and per kind, from a profile. */
function summarize(profile: CpuProfile): { rows: Array<[string, number]>; kinds: Record<string, number>; totalUs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const perFunction = new Map<string, number>();
  const kinds: Record<string, number> = { javascript: 0, wasm: 0, "runtime (no JS frame)": 0, "garbage collection": 0, idle: 0 };
  let totalUs = 0;
  for (const [id, us] of self) {
    const f = byId.get(id)!.callFrame;
    totalUs += us;
    const name = f.functionName || "(anonymous)";
    const file = f.url.split("/").pop() ?? "";
    const key = file ? `${name} @ ${file}:${f.lineNumber + 1}` : name;
    perFunction.set(key, (perFunction.get(key) ?? 0) + us);
    if (name === "(idle)") kinds.idle! += us;
    else if (name === "(garbage collector)") kinds["garbage collection"]! += us;
    else if (name === "(program)" || name === "(root)") kinds["runtime (no JS frame)"]! += us;
    else if (f.url.includes("wasm") || /^\$?func\d+|wasm-function/.test(name)) kinds.wasm! += us;
    else kinds.javascript! += us;
  }
  const rows = [...perFunction].sort((a, b) => b[1] - a[1]);
  return { rows, kinds, totalUs };
}

/** CPU time (user + system) a process has used, ms, from /proc/<pid>/stat (Linux; clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14 and 15 of stat)
}

/**
 * Saturation of a fresh room per round, without the profiler: delivered msg/s, and the CPU
 * time workerd and this (client) process spent per delivered message, µs. CPU per message is
 * what to compare on a shared machine: the rate moves with the other load, the CPU a message
 * costs much less.
 */
async function rates(rounds: number, entry: string | undefined): Promise<void> {
  for (const mode of ["node", "workerd"] as const) {
    const got: number[] = [];
    const server: number[] = [];
    const client: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const w = mode === "node" ? await startNode() : await startWorkerd([], entry);
      try {
        const c = await connectClients(w.url);
        const pid = w.pid;
        const s0 = cpuMs(pid);
        const c0 = process.cpuUsage();
        const d0 = c.delivered;
        const { rate } = await saturate(c, (i) => publish(c, i), { fanout: CLIENTS - 1, window: 32, warmMs: 0, runMs: 3000 });
        const delivered = c.delivered - d0;
        const cu = process.cpuUsage(c0);
        server.push(((cpuMs(pid) - s0) * 1000) / delivered);
        client.push((cu.user + cu.system) / delivered);
        got.push(rate);
        for (const ws of c.sockets) ws.terminate();
      } finally {
        await w.stop();
      }
    }
    console.log(`${mode}: saturation (delivered msg/s) ${got.map((x) => fmt(x)).join(", ")}, median ${fmt(median(got))}`);
    console.log(`${mode}: server CPU per delivered message (µs) ${server.map((x) => x.toFixed(1)).join(", ")}, median ${median(server).toFixed(1)}`);
    console.log(`${mode}: client process CPU per delivered message (µs) ${client.map((x) => x.toFixed(1)).join(", ")}, median ${median(client).toFixed(1)}`);
  }
}

async function main(): Promise<void> {
  if (workerdMissing) {
    console.log(`relay-workerd-profile ${workerdMissing}`);
    return;
  }
  const entryAt = process.argv.indexOf("--entry");
  if (process.argv[2] === "--rate") return rates(Number(process.argv[3] ?? 3) || 3, entryAt > 0 ? process.argv[entryAt + 1] : undefined);
  const seconds = Number(process.argv[2] ?? 4) || 4;
  const outAt = process.argv.indexOf("--cpuprofile");
  const inspector = await freePort();
  const w = await startWorkerd([`--inspector-addr=127.0.0.1:${inspector}`]);
  try {
    const c = await connectClients(w.url);
    const targets = (await (await fetch(`http://127.0.0.1:${inspector}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string; title?: string }>;
    if (targets.length === 0) throw new Error("workerd's inspector lists no isolate");
    const cdp = await devtools(targets[0]!.webSocketDebuggerUrl);
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
    await cdp.send("Profiler.start");
    const { rate } = await saturate(c, (i) => publish(c, i), { fanout: CLIENTS - 1, window: 32, warmMs: 300, runMs: seconds * 1000 });
    const { profile } = (await cdp.send("Profiler.stop")) as unknown as { profile: CpuProfile };
    cdp.close();
    for (const ws of c.sockets) ws.terminate();
    if (outAt > 0 && process.argv[outAt + 1]) await writeFile(process.argv[outAt + 1]!, JSON.stringify(profile));
    const { rows, kinds, totalUs } = summarize(profile);
    const busy = totalUs - kinds.idle!;
    console.log(`saturation while profiled: ${fmt(rate)} delivered msg/s (${CLIENTS} clients, one room; the profiler slows it)\n`);
    table(
      ["kind", "self ms", "share of busy time"],
      Object.entries(kinds).map(([k, us]) => [k, fmt(us / 1000), k === "idle" ? "" : `${((100 * us) / busy).toFixed(1)} %`]),
    );
    console.log("");
    table(
      ["function (self time)", "self ms", "share of busy time"],
      rows.filter(([k]) => k !== "(idle)").slice(0, 30).map(([k, us]) => [k, fmt(us / 1000, 1), `${((100 * us) / busy).toFixed(1)} %`]),
    );
  } finally {
    await w.stop();
  }
}

await main();
