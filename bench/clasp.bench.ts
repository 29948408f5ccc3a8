/**
 * CLASP codec throughput: ours (the wasm core through the TypeScript face) against the codec
 * of @clasp-to/core 3.3.2, on one fixed mix, in the same run. Messages per second, medians
 * of 9 alternating rounds (ours, peer, ours, …) and the median of the per-round ratios. Batches go through encodeBatch/decodeBatch (one call into the core per 1,000
 * messages); the peer has no batch API, so it runs message by message. A last section shows
 * single small messages one call at a time, where the boundary crossing costs most.
 */
import * as peer from "@clasp-to/core";
import { ClaspCodec, type Message } from "../src/clasp/index.js";
import { compare, fmt, table } from "./util.js";

const N = 1000;
const codec = await ClaspCodec.load();

const setFloat = (i: number): Message => ({ type: "SET", address: `/mixer/channel/${i % 32}/fader`, value: (i % 100) / 100 });
const publishEvent = (i: number): Message => ({ type: "PUBLISH", address: `/cue/${i % 16}/go`, signal: "event", value: { cue: i, fade: 2.5, name: "intro" }, timestamp: 1_700_000_000_000_000 + i });
/**
 * A SNAPSHOT of 100 params: f64 values, small revisions, no writer or timestamp. `distinct`
 * gives every param of the 1,000 messages its own address (100,000 in all, far more than the
 * intern table's 4,096 slots, so no address is ever read from it); otherwise the 1,000
 * messages share 400 addresses, as snapshots of the same namespace repeat theirs.
 */
const snapshotOf = (distinct: boolean) => (i: number): Message => ({
  type: "SNAPSHOT",
  // Kept under the peer's 4 KiB scratch buffer (clasp-wire.md §8.9), so it can take part.
  params: Array.from({ length: 100 }, (_, k) => ({ address: distinct ? `/n${i}/p/${k}` : `/s${i % 4}/p/${k}`, value: k * 0.01, revision: k + 1 })),
});
const bundle = (i: number): Message => ({ type: "BUNDLE", messages: Array.from({ length: 20 }, (_, k) => setFloat(i * 20 + k)) });

const scenarios: Array<[string, (i: number) => Message]> = [
  ["SET float", setFloat],
  ["PUBLISH event", publishEvent],
  ["SNAPSHOT of 100 params", snapshotOf(false)],
  ["SNAPSHOT of 100 params, distinct addresses", snapshotOf(true)],
  ["BUNDLE of 20 SETs", bundle],
];

/** The peer's scratch buffer refuses payloads over ~4 KiB (clasp-wire.md §8.9). */
function peerEncodes(m: Message): boolean {
  try {
    peer.encode(m as peer.Message);
    return true;
  } catch {
    return false;
  }
}

export default async function run(): Promise<void> {
  const rows: Array<Array<string | number>> = [];
  for (const [name, make] of scenarios) {
    const msgs = Array.from({ length: N }, (_, i) => make(i));
    const frames = codec.encodeBatch(msgs);
    if (!peerEncodes(msgs[0]!)) throw new Error(`peer cannot encode ${name}`);
    const enc = compare(
      () => codec.encodeBatch(msgs),
      () => {
        for (const m of msgs) peer.encode(m as peer.Message);
      },
      N,
    );
    const dec = compare(
      () => codec.decodeBatch(frames),
      () => {
        for (const f of frames) peer.decodeMessage(f);
      },
      N,
    );
    rows.push([name, fmt(enc.a), fmt(enc.b), `${fmt(enc.ratio, 2)}×`, fmt(dec.a), fmt(dec.b), `${fmt(dec.ratio, 2)}×`]);
  }
  console.log(`Batches of ${N} messages, messages/s (medians of 9 alternating rounds):\n`);
  table(["mix", "encode ours", "encode peer", "ratio", "decode ours", "decode peer", "ratio"], rows);

  const single: Array<Array<string | number>> = [];
  for (const [name, make] of scenarios.slice(0, 2)) {
    const m = make(1);
    const f = codec.encode(m);
    const enc = compare(() => codec.encode(m), () => peer.encode(m as peer.Message), 1);
    const dec = compare(() => codec.decode(f), () => peer.decodeMessage(f), 1);
    single.push([name, fmt(enc.a), fmt(enc.b), `${fmt(enc.ratio, 2)}×`, fmt(dec.a), fmt(dec.b), `${fmt(dec.ratio, 2)}×`]);
  }
  console.log(`\nOne message per call (encode/decode), messages/s:\n`);
  table(["message", "encode ours", "encode peer", "ratio", "decode ours", "decode peer", "ratio"], single);
}
