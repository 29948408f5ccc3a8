/** Shared benchmark helpers: same-run comparisons with warm-up and medians, markdown tables, fan-out saturation and CLASP sockets. */
import WebSocket from "ws";
import { codec, type Feature, type Message } from "../src/clasp/index.js";

/** Median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Calls `fn` (which processes `items` items per call) for at least `minMs` milliseconds and
 * returns the rate in items per second.
 */
function rate(fn: () => void, items: number, minMs: number): number {
  let calls = 0;
  const t0 = performance.now();
  let t1 = t0;
  while (t1 - t0 < minMs) {
    fn();
    calls++;
    t1 = performance.now();
  }
  return (calls * items * 1000) / (t1 - t0);
}

/** Formats a number with thousands separators and no decimals (or `digits` decimals). */
export function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Prints a markdown table to stdout: `head` is the header row; the first column is left-aligned, the others right-aligned. */
export function table(head: string[], rows: Array<Array<string | number>>): void {
  console.log(`| ${head.join(" | ")} |`);
  console.log(`|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}

/**
 * Measures `a` and `b` (each processing `items` items per call) in alternating rounds, so
 * that load changes on a shared machine hit both alike. Returns the median throughput of
 * each (items/s) and the median of the per-round ratios a/b.
 */
export function compare(a: () => void, b: () => void, items: number, { rounds = 9, minMs = 120 } = {}): { a: number; b: number; ratio: number } {
  rate(a, items, minMs); // warm-up
  rate(b, items, minMs);
  const as: number[] = [];
  const bs: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const x = rate(a, items, minMs);
    const y = rate(b, items, minMs);
    as.push(x);
    bs.push(y);
    ratios.push(x / y);
  }
  return { a: median(as), b: median(bs), ratio: median(ratios) };
}

/** What {@link saturate} drives: a count of deliveries and a hook called on each one. */
export interface DeliveryCounter {
  delivered: number;
  onDelivery?: (() => void) | undefined;
}

/**
 * Saturation of a fan-out server: publishes (`publish(i)`, one message to `fanout` receivers)
 * while fewer than `window` messages are in flight, warms up for `warmMs`, then counts
 * deliveries for `runMs`. Leaves the hook unset.
 * @returns delivered messages per second, and how many messages were published in all
 */
export async function saturate(
  c: DeliveryCounter,
  publish: (i: number) => void,
  o: { fanout: number; window: number; warmMs: number; runMs: number },
): Promise<{ rate: number; sent: number }> {
  let sent = 0;
  let pumping = false;
  const pump = () => {
    if (pumping) return;
    pumping = true;
    while (sent * o.fanout - c.delivered < o.window * o.fanout) publish(sent++);
    pumping = false;
  };
  c.onDelivery = pump;
  pump();
  await new Promise((r) => setTimeout(r, o.warmMs));
  const d0 = c.delivered;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, o.runMs));
  const rate = ((c.delivered - d0) * 1000) / (performance.now() - t0);
  c.onDelivery = undefined;
  return { rate, sent };
}

/**
 * Opens a WebSocket to a CLASP server (subprotocol `clasp`, no compression). With
 * `handshake`, it then says HELLO (with `features`), sends the SUBSCRIBE message, and waits
 * for the PONG of a PING sent after them: when it resolves the subscription is in place.
 * @throws the socket's error when it cannot open
 */
export async function claspSocket(url: string, handshake?: { features: Feature[]; subscribe: Message }): Promise<WebSocket> {
  const ws = new WebSocket(url, ["clasp"], { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  if (!handshake) return ws;
  await new Promise<void>((resolve) => {
    ws.on("message", function setup(data: Buffer) {
      if (data[4] === PONG_TYPE) {
        ws.off("message", setup);
        resolve();
      }
    });
    ws.send(codec.encode({ type: "HELLO", version: 1, name: "bench", features: handshake.features }));
    ws.send(codec.encode(handshake.subscribe));
    ws.send(codec.encode({ type: "PING" }));
  });
  return ws;
}

/** Message type byte of PONG (clasp-wire.md §4), at offset 4 of a frame without timestamp. */
const PONG_TYPE = 0x42;
