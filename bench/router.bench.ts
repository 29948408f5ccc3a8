/**
 * In-process routing: SET fan-out to 1, 10, 100 and 1,000 subscribers, and subscribe /
 * unsubscribe churn with 10,000 patterns. Peer, in the same run: a straightforward JS router
 * (one RegExp per subscription, as the JS client compiles patterns, and @clasp-to/core's codec
 * to decode each SET and encode its broadcast once). Deliveries per second, medians of 9
 * alternating rounds.
 */
import * as peer from "@clasp-to/core";
import { encode } from "../src/clasp/index.js";
import { MiniRouter } from "../src/clasp/router.js";
import { compare, fmt, table } from "./util.js";

/** The naive JS router the peer column measures. */
class RegexRouter {
  subs: Array<{ conn: number; re: RegExp }> = [];
  revisions = new Map<string, number>();
  subscribe(conn: number, pattern: string): void {
    const re = new RegExp(`^${pattern.replace(/\*\*/g, "\u0000").replace(/\*/g, "[^/]*").replace(/\u0000/g, ".*")}$`);
    this.subs.push({ conn, re });
  }
  /** Decodes a SET, bumps its revision, encodes the broadcast once, lists the deliveries. */
  receive(frame: Uint8Array, out: number[]): Uint8Array {
    const m = peer.decode(frame) as peer.SetMessage;
    const revision = (this.revisions.get(m.address) ?? 0) + 1;
    this.revisions.set(m.address, revision);
    const bytes = peer.encode({ ...m, revision });
    out.length = 0;
    for (const s of this.subs) if (s.re.test(m.address)) out.push(s.conn, 0);
    return bytes;
  }
}

export default async function run(): Promise<void> {
  const rows: Array<Array<string | number>> = [];
  for (const n of [1, 10, 100, 1000]) {
    const router = await MiniRouter.load({ maxSessions: n + 1 });
    const js = new RegexRouter();
    const hello = encode({ type: "HELLO", version: 1, name: "b", features: ["param"] });
    for (let i = 0; i < n; i++) {
      const c = router.connect();
      router.receive(c, hello);
      router.receive(c, encode({ type: "SUBSCRIBE", id: 1, pattern: i % 2 ? "/mixer/**" : "/mixer/*/fader" }));
      js.subscribe(c, i % 2 ? "/mixer/**" : "/mixer/*/fader");
    }
    const writer = router.connect();
    router.receive(writer, hello);
    const frames = Array.from({ length: 64 }, (_, i) => encode({ type: "SET", address: `/mixer/${i}/fader`, value: i / 64 }, { qos: 0 }));
    const out: number[] = [];
    let k = 0;
    const r = compare(
      () => router.receive(writer, frames[k++ & 63]!),
      () => js.receive(frames[k++ & 63]!, out),
      n,
    );
    rows.push([`SET → ${n} subscribers`, fmt(r.a), fmt(r.b), `${fmt(r.ratio, 2)}×`]);
  }
  console.log("SET fan-out, deliveries/s (one SET decoded, stored, re-encoded once, delivered to all):\n");
  table(["scenario", "MiniRouter (wasm)", "JS regex router + peer codec", "ratio"], rows);

  // 10 sessions × 1,000 patterns (the default per-session limit, as upstream's).
  const router = await MiniRouter.load();
  const conns = Array.from({ length: 10 }, () => {
    const c = router.connect();
    router.receive(c, encode({ type: "HELLO", version: 1, name: "churn", features: [] }));
    return c;
  });
  const subs = Array.from({ length: 1000 }, (_, i) => encode({ type: "SUBSCRIBE", id: i, pattern: `/churn/${i % 100}/*/p${i}/**` }));
  const unsubs = Array.from({ length: 1000 }, (_, i) => encode({ type: "UNSUBSCRIBE", id: i }));
  const t0 = performance.now();
  const rounds = 5;
  for (let r = 0; r < rounds; r++) {
    for (const c of conns) for (const f of subs) router.receive(c, f);
    for (const c of conns) for (const f of unsubs) router.receive(c, f);
  }
  const ops = (rounds * 20_000 * 1000) / (performance.now() - t0);
  console.log(`\nSubscribe/unsubscribe churn with 10,000 patterns: ${fmt(ops)} operations/s (${rounds} rounds of 10 sessions × 1,000 SUBSCRIBE, then as many UNSUBSCRIBE)`);
}
