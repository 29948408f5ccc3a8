// SUBSCRIBE options (clasp-wire.md §4.1 SUBSCRIBE 0x10, opt bits) applied per subscription
// and address ("lane"):
//   maxRate  at most this many deliveries a second: a change inside the interval is held and
//            only the latest one is sent when the interval ends (flushed by `tick`);
//   window   ms over which changes are coalesced: the first change of a quiet lane waits for
//            the window to end too, then the latest value goes out;
//   epsilon  a numeric value closer than this to the one last delivered is not sent (a held
//            change that the new value brings back within epsilon is dropped too);
//   history  read by the router on subscribe (the journal's last N frames per address).
// With both maxRate and window the longer interval applies.

import { copyBytes } from "../../abi/buffer";
import { BytesMap, Keyed } from "../bytesmap";

/** A change must be delivered now. */
export const SEND: u32 = 0;
/** A change is held in its lane until `Lane.due`. */
export const HOLD: u32 = 1;
/** A change is not delivered (epsilon). */
export const DROP: u32 = 2;

export class SubscribeOptions {
  /** µs between two deliveries on one lane (from maxRate and window); 0: no limit. */
  interval: u64 = 0;
  /** Whether a quiet lane's first change waits for the interval (window) or goes at once (maxRate). */
  trailing: bool = false;
  hasEpsilon: bool = false;
  epsilon: f64 = 0;
  /** Journal frames per address sent on subscribe. */
  history: u32 = 0;
  /** False once the subscription is replaced or removed. */
  live: bool = true;
  /** Lanes by address. */
  lanes: BytesMap = new BytesMap();

  /** Whether any option changes delivery (history alone does not). */
  get gates(): bool {
    return this.interval != 0 || this.hasEpsilon;
  }
}

/**
 * Compares how much two subscriptions' options hold back (null: no options): 1 when `a`
 * lets more through than `b`, -1 when less, 0 when alike. A shorter interval lets more
 * through; at equal intervals maxRate (a quiet lane sends at once) before window (it waits),
 * then no epsilon before a smaller epsilon before a larger one. The router delivers a change
 * once per session, under the loosest of its matching subscriptions (docs/router.md).
 */
export function looser(a: SubscribeOptions | null, b: SubscribeOptions | null): i32 {
  let ai: u64 = a !== null ? a.interval : 0;
  let bi: u64 = b !== null ? b.interval : 0;
  if (ai != bi) return ai < bi ? 1 : -1;
  let at = a !== null && a.trailing;
  let bt = b !== null && b.trailing;
  if (at != bt) return bt ? 1 : -1;
  let ae = a !== null && a.hasEpsilon;
  let be = b !== null && b.hasEpsilon;
  if (ae != be) return be ? 1 : -1;
  if (!ae) return 0;
  let x = a!.epsilon;
  let y = b!.epsilon;
  return x < y ? 1 : x > y ? -1 : 0;
}

/** Delivery state of one (subscription, address). */
export class Lane extends Keyed {
  /** µs of the last delivery; 0 never. */
  sent: u64 = 0;
  /** Numeric value last delivered (NaN: none or not a number). */
  last: f64 = NaN;
  /** The held frame (latest change), or null. */
  pending: ArrayBuffer | null = null;
  /** Numeric value of the held frame. */
  pendingNumber: f64 = NaN;
  /** µs when the held frame goes out. */
  due: u64 = 0;
  /** Connection to deliver to. */
  conn: u32 = 0;
  /** The options this lane belongs to (gone when the subscription is replaced or removed). */
  constructor(public options: SubscribeOptions) {
    super();
  }
}

/**
 * Lanes one subscription keeps at most: a wildcard subscription sees any number of addresses,
 * and past this many its changes on new addresses are delivered as if it had no options
 * (never held, never suppressed), so memory stays bounded.
 */
export const MAX_LANES: i32 = 4096;

/** Lanes with a held frame, for `tick` to flush. */
export const waiting = new Array<Lane>();

/**
 * The copy of the frame being fanned out that the lanes holding it share: one copy per
 * fan-out, not one per subscriber (200 rate-limited subscribers of a 1 kHz stream made 200,000
 * copies a second). Held frames are never written to, so sharing is safe; `fanOutStart` drops
 * it before the next fan-out.
 */
let shared: ArrayBuffer | null = null;

/** Starts a fan-out: the next held frame is copied afresh. */
export function fanOutStart(): void {
  shared = null;
}

/** The lane of `opts` for address [ap, ap + an), made on first use; null past MAX_LANES. */
export function laneOf(opts: SubscribeOptions, ap: usize, an: usize, conn: u32): Lane | null {
  let lane = changetype<Lane | null>(opts.lanes.get(ap, an));
  if (!lane) {
    if (opts.lanes.size >= MAX_LANES) return null;
    lane = new Lane(opts);
    lane.conn = conn;
    opts.lanes.set(ap, an, lane);
  }
  return lane;
}

/**
 * Decides what happens to a change of numeric value `x` (NaN when not a number) on `lane` at
 * `now`: SEND (the caller delivers and calls `sent`), HOLD (the frame [fp, fp + fn) is kept
 * as the lane's latest, shared with the fan-out's other lanes, and `lane.due` says when it
 * goes) or DROP.
 */
export function admit(lane: Lane, x: f64, fp: usize, fn: usize, now: u64): u32 {
  let opts = lane.options;
  if (opts.hasEpsilon && !isNaN(x) && !isNaN(lane.last) && Math.abs(x - lane.last) < opts.epsilon) {
    lane.pending = null; // the value is back where it was delivered: nothing to say
    return DROP;
  }
  let interval = opts.interval;
  if (interval == 0) return SEND;
  let quiet = lane.pending === null;
  if (quiet && !opts.trailing && (lane.sent == 0 || now - lane.sent >= interval)) return SEND;
  if (quiet) {
    lane.due = opts.trailing ? now + interval : lane.sent + interval;
    waiting.push(lane);
  }
  if (shared === null) shared = copyBytes(fp, fn);
  lane.pending = shared;
  lane.pendingNumber = x;
  return HOLD;
}

/**
 * The time a held frame flushed by a tick at `now` counts as sent: the last slot of the lane's
 * grid (its due time plus whole intervals) at or before `now`. So a tick that runs late (a
 * host's timer granularity, a busy event loop) does not push the lane's next interval back by
 * that lateness, which lost a share of every period (a 1 kHz stream under maxRate 30 got 20.7
 * values/s with ticks ~15 ms late); a tick more than an interval late loses the slots it
 * missed (one held frame cannot fill them: no catch-up burst) and the next one is on the grid.
 */
export function flushedAt(lane: Lane, now: u64): u64 {
  let interval = lane.options.interval;
  return lane.due + (now - lane.due) / interval * interval;
}

/** Records a delivery of value `x` on `lane` at `now`. */
export function sent(lane: Lane, x: f64, now: u64): void {
  lane.sent = now;
  lane.last = x;
}

/**
 * Big-endian numeric value of the tagged CLASP value at [p, p + n) (clasp-wire.md §3: i8 2,
 * i16 3, i32 4, i64 5, f32 6, f64 7), or NaN for any other type.
 */
export function taggedNumber(p: usize, n: usize): f64 {
  if (n == 0) return NaN;
  let tag = <u32>load<u8>(p);
  if (tag == 2 && n >= 2) return <f64>load<i8>(p + 1);
  if (tag == 3 && n >= 3) return <f64>bswap<i16>(load<i16>(p + 1));
  if (tag == 4 && n >= 5) return <f64>bswap<i32>(load<i32>(p + 1));
  if (tag == 5 && n >= 9) return <f64>bswap<i64>(load<i64>(p + 1));
  if (tag == 6 && n >= 5) return <f64>reinterpret<f32>(bswap<u32>(load<u32>(p + 1)));
  if (tag == 7 && n >= 9) return reinterpret<f64>(bswap<u64>(load<u64>(p + 1)));
  return NaN;
}

/**
 * Numeric value of the PUBLISH frame [p, p + n) (clasp-wire.md §4.1: header, 0x20, flags,
 * address, kind, then a tagged value when kind is 1), or NaN.
 */
export function publishNumber(p: usize, n: usize): f64 {
  let at: usize = (<u32>load<u8>(p + 1) & 0x20) != 0 ? 12 : 4;
  at += 2; // type byte, flags
  if (at + 2 > n) return NaN;
  at += 2 + <usize>bswap<u16>(load<u16>(p + at));
  if (at + 1 > n || load<u8>(p + at) != 1) return NaN;
  return taggedNumber(p + at + 1, n - at - 1);
}
