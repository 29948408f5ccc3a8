// The subscription trie: finds every subscription whose pattern matches an address, visiting
// each (trie node, segment position) once, so a match costs O(trie nodes × segments) at
// worst whatever the patterns, and no memory is allocated per match or per delivery.

import { copyBytes } from "../../abi/buffer";
import { BytesMap, Keyed } from "../bytesmap";
import { SubscribeOptions, looser } from "./options";
import { Pattern, LITERAL, STAR, DSTAR, PARTIAL, Segments, segStart, segLen, globSegment, matchSplit } from "../pattern";

/** Positions memoised per node (bits of a u64); longer addresses fall back to a linear scan. */
const MEMO_SEGMENTS = 63;

/** What a subscription is attached to (a session); `mark` deduplicates deliveries. */
export class Subscriber {
  /** Match epoch in which this subscriber was last selected. */
  mark: u32 = 0;
  /** Index in `Trie.matched` of the subscription selected for it in that epoch. */
  at: i32 = 0;
}

export class Subscription {
  node: TrieNode | null = null;
  /** Index in `node.subs`, for O(1) removal. */
  slot: i32 = -1;
  /** Index in the trie's list of all subscriptions. */
  all: i32 = -1;
  /** The SUBSCRIBE options that change delivery (maxRate, window, epsilon), or null. */
  options: SubscribeOptions | null = null;
  constructor(
    public owner: Subscriber,
    public id: u32,
    public pattern: Pattern,
    /** Signal type mask (param 0x01 … timeline 0x10). */
    public mask: u32,
  ) {}
}

class Partial {
  constructor(
    public text: ArrayBuffer,
    public node: TrieNode,
  ) {}
}

export class TrieNode extends Keyed {
  literal: BytesMap | null = null;
  star: TrieNode | null = null;
  dstar: TrieNode | null = null;
  partials: Array<Partial> | null = null;
  subs: Array<Subscription> = new Array<Subscription>();
  parent: TrieNode | null = null;
  /** How this node hangs off its parent: its segment kind and, for literals and partials, bytes. */
  kind: u8 = LITERAL;
  key: ArrayBuffer | null = null;
  /** Memo of the current match: epoch and the positions already visited (bit per position). */
  epoch: u32 = 0;
  seen: u64 = 0;

  get empty(): bool {
    return this.subs.length == 0 && this.star == null && this.dstar == null &&
      (this.literal == null || this.literal!.size == 0) && (this.partials == null || this.partials!.length == 0);
  }
}

/** The subscriptions of all sessions. */
export class Trie {
  root: TrieNode = new TrieNode();
  all: Array<Subscription> = new Array<Subscription>();
  private epoch: u32 = 0;
  /** Result of the last `match`: each matching subscriber once, with a subscription that matched. */
  matched: Array<Subscription> = new Array<Subscription>();
  /** Signal type bit the current match filters on. */
  private typeBit: u32 = 0;

  /** Attaches `sub` under its pattern. */
  add(sub: Subscription): void {
    let node = this.root;
    let pat = sub.pattern;
    for (let i = 0; i < pat.count; i++) node = this.child(node, pat, i);
    sub.node = node;
    sub.slot = node.subs.length;
    node.subs.push(sub);
    sub.all = this.all.length;
    this.all.push(sub);
  }

  private child(node: TrieNode, pat: Pattern, i: i32): TrieNode {
    let kind = unchecked(pat.kinds[i]);
    if (kind == STAR) {
      if (!node.star) node.star = this.node(node, kind, null);
      return node.star!;
    }
    if (kind == DSTAR) {
      if (!node.dstar) node.dstar = this.node(node, kind, null);
      return node.dstar!;
    }
    let p = pat.segPtr(i);
    let n = <usize>unchecked(pat.lens[i]);
    if (kind == PARTIAL) {
      if (!node.partials) node.partials = new Array<Partial>();
      let list = node.partials!;
      for (let k = 0; k < list.length; k++) {
        let t = unchecked(list[k]).text;
        if (<usize>t.byteLength == n && memory.compare(changetype<usize>(t), p, n) == 0) return unchecked(list[k]).node;
      }
      let key = copyBytes(p, n);
      let next = this.node(node, kind, key);
      list.push(new Partial(key, next));
      return next;
    }
    if (!node.literal) node.literal = new BytesMap();
    let found = changetype<TrieNode | null>(node.literal!.get(p, n));
    if (found) return found;
    let next = this.node(node, kind, copyBytes(p, n));
    node.literal!.set(p, n, next);
    return next;
  }

  private node(parent: TrieNode, kind: u8, key: ArrayBuffer | null): TrieNode {
    let n = new TrieNode();
    n.parent = parent;
    n.kind = kind;
    n.key = key;
    return n;
  }

  /** Detaches `sub` and prunes the nodes it leaves empty. */
  remove(sub: Subscription): void {
    let node = sub.node;
    if (!node) return;
    let subs = node.subs;
    let last = subs.pop();
    if (last !== sub) {
      unchecked((subs[sub.slot] = last));
      last.slot = sub.slot;
    }
    let all = this.all;
    let tail = all.pop();
    if (tail !== sub) {
      unchecked((all[sub.all] = tail));
      tail.all = sub.all;
    }
    sub.node = null;
    if (sub.options) sub.options!.live = false; // its held changes are not sent any more
    while (node && node !== this.root && node.empty) {
      let parent = node.parent!;
      if (node.kind == STAR) parent.star = null;
      else if (node.kind == DSTAR) parent.dstar = null;
      else if (node.kind == PARTIAL) {
        let list = parent.partials!;
        for (let k = 0; k < list.length; k++) {
          if (unchecked(list[k]).node === node) {
            unchecked((list[k] = list[list.length - 1]));
            list.pop();
            break;
          }
        }
      } else {
        let key = node.key!;
        parent.literal!.delete(changetype<usize>(key), <usize>key.byteLength);
      }
      node = parent;
    }
  }

  /**
   * Collects into `matched` one subscription per subscriber whose pattern matches the address
   * last split by `splitAddress` and whose type mask has `typeBit` (0: any type). `accept`
   * may veto a subscriber (e.g. by read scope); a vetoed subscriber can still be selected
   * through another of its subscriptions. When several subscriptions of one subscriber match,
   * the one whose options hold back least is selected (`looser`; ties: the lowest id), so the
   * choice depends neither on the trie's visiting order nor on which was added first.
   */
  match(typeBit: u32, accept: (s: Subscription) => bool): Array<Subscription> {
    this.matched.length = 0;
    this.epoch++;
    if (this.epoch == 0) this.epoch = 1;
    this.typeBit = typeBit;
    if (Segments.count > MEMO_SEGMENTS) {
      let all = this.all;
      for (let k = 0; k < all.length; k++) {
        let sub = unchecked(all[k]);
        if (matchSplit(sub.pattern)) this.take(sub, accept);
      }
    } else {
      this.visit(this.root, 0, accept);
    }
    return this.matched;
  }

  private take(sub: Subscription, accept: (s: Subscription) => bool): void {
    let owner = sub.owner;
    if (this.typeBit != 0 && (sub.mask & this.typeBit) == 0) return;
    if (owner.mark == this.epoch) {
      // Another subscription of this subscriber matched already: one delivery per subscriber.
      let chosen = unchecked(this.matched[owner.at]);
      let better = looser(sub.options, chosen.options);
      if (better > 0 || (better == 0 && sub.id < chosen.id)) {
        if (accept(sub)) unchecked((this.matched[owner.at] = sub));
      }
      return;
    }
    if (!accept(sub)) return;
    owner.mark = this.epoch;
    owner.at = this.matched.length;
    this.matched.push(sub);
  }

  private visit(node: TrieNode, i: i32, accept: (s: Subscription) => bool): void {
    if (node.epoch != this.epoch) {
      node.epoch = this.epoch;
      node.seen = 0;
    }
    let bit = (<u64>1) << <u64>i;
    if (node.seen & bit) return;
    node.seen |= bit;
    let n = Segments.count;
    if (node.dstar) {
      for (let j = i; j <= n; j++) this.visit(node.dstar!, j, accept);
    }
    if (i == n) {
      let subs = node.subs;
      for (let k = 0; k < subs.length; k++) this.take(unchecked(subs[k]), accept);
      return;
    }
    let p = segStart(i);
    let len = segLen(i);
    if (node.literal) {
      let next = changetype<TrieNode | null>(node.literal!.get(p, len));
      if (next) this.visit(next, i + 1, accept);
    }
    if (node.star) this.visit(node.star!, i + 1, accept);
    if (node.partials) {
      let list = node.partials!;
      for (let k = 0; k < list.length; k++) {
        let part = unchecked(list[k]);
        if (globSegment(changetype<usize>(part.text), <usize>part.text.byteLength, p, len)) this.visit(part.node, i + 1, accept);
      }
    }
  }
}
