/**
 * The clawft playground: a ClaspClient connected to the relay (WebSocket) or to the
 * in-browser hub (a Worker; other tabs join it over a BroadcastChannel), a live param table
 * with revisions, faders that SET, an event log, and the wasm size report; and a panel per
 * other core (web/panels/): vector search (HNSW in a Worker), governance (CLP in a Worker),
 * signals (a live stream plot), the agent, and speech (the media pipeline). Plain DOM.
 *
 * URL parameters: `hub=relay|worker` (default relay), `url=ws://…` (default this page's host).
 * `window.playground` exposes the client for tests and the console.
 * @module
 */
import { ClaspClient, type ClaspError, type MessageInfo } from "../src/clasp/client.js";
import type { ClaspValue } from "../src/clasp/index.js";
import { startWorkerHub, type WorkerHub } from "../src/relay/worker-hub.js";
import type { Transport } from "../src/transports/index.js";
import { BroadcastChannelTransport } from "../src/transports/port.js";
import { WebSocketTransport } from "../src/transports/websocket.js";
import { mountAgentPanel, type AgentPanel } from "./panels/agent.js";
import { mountGovernancePanel, type GovernancePanel } from "./panels/governance.js";
import { mountSearchPanel, type SearchPanel } from "./panels/search.js";
import { mountSignalsPanel, type SignalsPanel } from "./panels/signals.js";
import { mountSpeakPanel } from "./panels/speak.js";

type Mode = "relay" | "worker";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const FADERS = 4;

/** What tests and the console see. */
interface Playground {
  client: ClaspClient | undefined;
  mode: Mode;
  /** In worker mode: whether this tab hosts the hub or joined another tab's. */
  role: "host" | "guest" | undefined;
  /** Resolves when the current connection is up (rejects when it failed). */
  ready: Promise<void>;
  hub: WorkerHub | undefined;
  /** The panels of the other cores (web/panels/). */
  search?: SearchPanel;
  governance?: GovernancePanel;
  signals?: SignalsPanel;
  agent?: AgentPanel;
}
const pg: Playground = { client: undefined, mode: "relay", role: undefined, ready: Promise.resolve(), hub: undefined };
(window as unknown as { playground: Playground }).playground = pg;

/** Values as text: JSON with bigints and byte strings spelled out. */
function show(v: ClaspValue): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? `${x}n` : x instanceof Uint8Array ? `bytes(${x.length})` : x)) ?? "null";
}

function log(text: string, cls = ""): void {
  const li = document.createElement("li");
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  if (cls) li.className = cls;
  const ol = $("log");
  ol.prepend(li);
  while (ol.children.length > 200) ol.lastChild!.remove();
}

function status(text: string, cls: "ok" | "bad" | "" = ""): void {
  const el = $("status");
  el.textContent = text;
  el.className = `status ${cls}`;
}

// ------------------------------------------------------------------ params and faders

const rows = new Map<string, HTMLTableRowElement>();

function showParam(address: string, value: ClaspValue, info: MessageInfo): void {
  let row = rows.get(address);
  if (!row) {
    row = document.createElement("tr");
    row.dataset.address = address;
    for (const cls of ["", "value", "num"]) row.appendChild(document.createElement("td")).className = cls;
    row.cells[0]!.textContent = address;
    const body = ($("params") as HTMLTableElement).tBodies[0]!;
    const after = [...rows.keys()].sort().find((a) => a > address);
    body.insertBefore(row, after ? rows.get(after)! : null);
    rows.set(address, row);
  }
  row.cells[1]!.textContent = show(value);
  row.cells[2]!.textContent = String(info.revision ?? "");
  const m = /^\/playground\/fader\/(\d+)$/.exec(address);
  const fader = m && (document.getElementById(`fader-${m[1]}`) as HTMLInputElement | null);
  if (fader && typeof value === "number" && document.activeElement !== fader) {
    fader.value = String(value);
    fader.nextElementSibling!.textContent = value.toFixed(2);
  }
}

function buildFaders(): void {
  const box = $("faders");
  for (let i = 1; i <= FADERS; i++) {
    const row = document.createElement("label");
    row.className = "fader";
    row.innerHTML = `<span>fader ${i}</span><input type="range" min="0" max="1" step="0.01" value="0" id="fader-${i}"><output>0.00</output>`;
    const input = row.querySelector("input")!;
    input.addEventListener("input", () => {
      const v = Number(input.value);
      row.querySelector("output")!.textContent = v.toFixed(2);
      pg.client?.set(`/playground/fader/${i}`, v).catch(() => {}); // failures reach onError
    });
    box.appendChild(row);
  }
}

// ------------------------------------------------------------------ connecting

/** The transport factory for `mode` (starting or joining the in-browser hub once). */
async function transportFor(mode: Mode, url: string): Promise<() => Transport> {
  if (mode === "relay") return () => new WebSocketTransport(url);
  if (!pg.role) {
    const worker = new Worker(new URL("../workers/router.worker.ts", import.meta.url), { type: "module" });
    try {
      pg.hub = await startWorkerHub(worker);
      pg.role = "host";
      log(`hosting the in-browser hub (restored ${pg.hub.restored.restored} params from IndexedDB)`);
    } catch (err) {
      if ((err as Error).name !== "HubBusyError") throw err; // across comlink: by name
      pg.role = "guest";
      log("joined the in-browser hub of another tab");
    }
  }
  const hub = pg.hub;
  return hub ? () => hub.transport() : () => new BroadcastChannelTransport();
}

async function connect(mode: Mode, url: string): Promise<void> {
  pg.client?.close();
  pg.client = undefined;
  pg.mode = mode;
  status("connecting…");
  const factory = await transportFor(mode, url);
  const client = new ClaspClient(factory, { name: "clawft playground", reconnect: mode === "relay" });
  client.onError((e: ClaspError) => log(`ERROR ${e.code}: ${e.text}${e.address ? ` (${e.address})` : ""}`, "error"));
  client.onClose((i) => status(`closed (${i.code}${i.reason ? ` ${i.reason}` : ""})`, "bad"));
  client.on("/**", (value, address, info) => {
    if (info.signal === "param") showParam(address, value, info);
    else if (info.signal !== "stream") log(`${info.signal} ${address} ${show(value)}${info.phase ? ` ${info.phase}` : ""}`);
  });
  await client.connect();
  pg.client = client;
  // Streams are plotted, not logged; the generator publishes from a session of its own.
  pg.signals?.attach(client, async () => {
    const generator = new ClaspClient(factory, { name: "clawft playground signal generator", reconnect: false });
    await generator.connect();
    return generator;
  });
  status(`${mode === "relay" ? url : `hub (${pg.role})`} · session ${client.session?.slice(0, 8)}`, "ok");
}

function start(): void {
  const form = $("connect") as HTMLFormElement;
  const modeSel = $("mode") as HTMLSelectElement;
  const urlInput = $("url") as HTMLInputElement;
  modeSel.value = params.get("hub") === "worker" ? "worker" : "relay";
  urlInput.value = params.get("url") ?? `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`;
  const go = () => {
    urlInput.disabled = modeSel.value !== "relay";
    pg.ready = connect(modeSel.value as Mode, urlInput.value);
    pg.ready.catch((err: Error) => {
      status(`failed: ${err.message}`, "bad");
      log(`connect failed: ${err.message}`, "error");
    });
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    go();
  });
  ($("set-form") as HTMLFormElement).addEventListener("submit", (ev) => {
    ev.preventDefault();
    const address = ($("set-address") as HTMLInputElement).value;
    let value: ClaspValue;
    try {
      value = JSON.parse(($("set-value") as HTMLInputElement).value) as ClaspValue;
    } catch (err) {
      log(`value is not JSON: ${(err as Error).message}`, "error");
      return;
    }
    pg.client?.set(address, value).then((rev) => log(`SET ${address} → revision ${rev}`), () => {});
  });
  ($("emit-form") as HTMLFormElement).addEventListener("submit", (ev) => {
    ev.preventDefault();
    try {
      const payload = JSON.parse(($("emit-value") as HTMLInputElement).value) as ClaspValue;
      pg.client?.emit(($("emit-address") as HTMLInputElement).value, payload);
    } catch (err) {
      log(`cannot emit: ${(err as Error).message}`, "error");
    }
  });
  buildFaders();
  void loadSizes();
  go();
}

// ------------------------------------------------------------------ sizes

interface SizeRow {
  file: string;
  raw: number;
  gzip: number;
  budget: string;
  status: string;
}

/** The build's size report: the relay serves it at /sizes.json (vite's dev server at /build/sizes.json). */
async function loadSizes(): Promise<void> {
  const body = ($("sizes") as HTMLTableElement).tBodies[0]!;
  for (const path of ["/sizes.json", "/build/sizes.json"]) {
    const res = await fetch(path).catch(() => undefined);
    if (!res?.ok) continue;
    const rows = (await res.json()) as SizeRow[];
    for (const r of rows) {
      const tr = body.insertRow();
      if (r.status === "OVER") tr.className = "over";
      for (const [text, cls] of [[r.file, ""], [r.raw.toLocaleString(), "num"], [r.gzip.toLocaleString(), "num"], [r.budget, "num"], [r.status, ""]] as const) {
        const td = tr.insertCell();
        td.textContent = text;
        td.className = cls;
      }
    }
    return;
  }
  body.insertRow().insertCell().textContent = "no size report (run node scripts/build.mjs)";
}

pg.search = mountSearchPanel($("search-panel"));
pg.governance = mountGovernancePanel($("governance-panel"));
pg.signals = mountSignalsPanel($("signals-panel"));
pg.agent = mountAgentPanel($("agent-panel"));
start();
// The media pipeline's panel: typed text → normalize → speak → MP3, in Workers (web/panels/speak.ts).
mountSpeakPanel($("speak-panel"));
