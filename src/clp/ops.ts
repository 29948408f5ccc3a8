/**
 * Effect operations for JavaScript transitions. A transition's `effects` returns a patch:
 * each key is a state path (`"count"`, `"user.profile.name"`, `"items[2]"`), each value the
 * new value, or one of the operations below for arrays and deletion:
 *
 * ```ts
 * effects: (ctx) => ({
 *   count: (ctx.state.count ?? 0) + 1,
 *   "user.profile.name": ctx.intent.payload.name,
 *   todos: push({ text: ctx.intent.payload.text }),
 *   done: filter((t) => !t.archived),
 *   draft: unset(),
 * })
 * ```
 * The engine applies them in patch order, all or nothing (docs/clp.md §Effects).
 * @module
 */
import type { ClaspValueInput } from "../clasp/index.js";

const OP: unique symbol = Symbol("clawft.clp.op");

/** An operation in a patch (created by {@link push}, {@link insert}, …). */
export interface EffectOp {
  readonly [OP]: "push" | "insert" | "remove" | "splice" | "filter" | "unset";
  readonly args: readonly unknown[];
}

function op(kind: EffectOp[typeof OP], args: unknown[]): EffectOp {
  return Object.freeze({ [OP]: kind, args: Object.freeze(args) });
}

/** Appends `items` to the array at the key's path (created when absent). */
export function push(...items: unknown[]): EffectOp {
  return op("push", items);
}

/** Inserts `value` before `index` of the array (Array.prototype.splice(index, 0, value)). */
export function insert(index: number, value: unknown): EffectOp {
  return op("insert", [index, value]);
}

/** Removes the item at `index` of the array (Array.prototype.splice(index, 1)). */
export function remove(index: number): EffectOp {
  return op("remove", [index]);
}

/** Array.prototype.splice(start, deleteCount, ...items) on the array; start and count clamp like JavaScript's. */
export function splice(start: number, deleteCount: number, ...items: unknown[]): EffectOp {
  return op("splice", [start, deleteCount, items]);
}

/** Keeps the items of the array for which `predicate(item, index)` is truthy. */
export function filter(predicate: (item: any, index: number) => unknown): EffectOp {
  return op("filter", [predicate]);
}

/** Deletes the key's path (an array item is removed and later items shift). */
export function unset(): EffectOp {
  return op("unset", []);
}

/** True when `v` is an {@link EffectOp}. */
export function isEffectOp(v: unknown): v is EffectOp {
  return typeof v === "object" && v !== null && OP in v;
}

/**
 * Copies a JavaScript value into what the CLASP codec carries: plain objects, arrays and
 * `Uint8Array`s are copied, `Map`s become plain objects, a `Date` becomes its ISO 8601 string
 * (`toISOString()`); anything else (numbers, strings, bigint, TypedNumber, undefined) is
 * passed as it is and left to the codec (which rejects functions and symbols).
 */
export function toClasp(v: unknown): ClaspValueInput {
  if (v === null || typeof v !== "object") return v as ClaspValueInput;
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(toClasp);
  if (v instanceof Uint8Array) return v.slice();
  const out: Record<string, ClaspValueInput> = {};
  if (v instanceof Map) {
    for (const [k, x] of v) out[String(k)] = toClasp(x);
    return out;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return v as ClaspValueInput;
  // own enumerable string keys in Object.entries order, without its pairs
  for (const k of Object.keys(v)) out[k] = toClasp((v as Record<string, unknown>)[k]);
  return out;
}

/**
 * Turns a patch into the engine's concrete ops (docs/clp-formats.md §Ops). `arrayAt(path)`
 * reads the array a `filter` runs over.
 */
export function patchToOps(patch: unknown, arrayAt: (path: string) => unknown): ClaspValueInput[] {
  if (patch === undefined || patch === null) return [];
  if (typeof patch !== "object" || Array.isArray(patch)) {
    throw new TypeError(`effects must return an object of path: value, got ${Array.isArray(patch) ? "an array" : typeof patch}`);
  }
  const ops: ClaspValueInput[] = [];
  for (const [path, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === undefined) {
      ops.push(["del", path]);
      continue;
    }
    if (!isEffectOp(v)) {
      ops.push(["set", path, toClasp(v)]);
      continue;
    }
    const a = v.args;
    switch (v[OP]) {
      case "push": ops.push(["push", path, ...a.map(toClasp)]); break;
      case "insert": ops.push(["splice", path, a[0] as number, 0, [toClasp(a[1])]]); break;
      case "remove": ops.push(["splice", path, a[0] as number, 1]); break;
      case "splice": ops.push(["splice", path, a[0] as number, a[1] as number, (a[2] as unknown[]).map(toClasp)]); break;
      case "unset": ops.push(["del", path]); break;
      case "filter": {
        const items = arrayAt(path);
        if (items === undefined || items === null) break;
        if (!Array.isArray(items)) throw new TypeError(`filter: ${path} is not an array`);
        const pred = a[0] as (item: unknown, index: number) => unknown;
        const drop: number[] = [];
        items.forEach((item, i) => {
          if (!pred(item, i)) drop.push(i);
        });
        if (drop.length > 0) ops.push(["removeAt", path, drop]);
        break;
      }
    }
  }
  return ops;
}
