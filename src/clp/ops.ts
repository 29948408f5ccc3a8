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
 * passed as it is and left to the codec (which rejects functions and symbols). With
 * `freeze`, every object and array of the copy is frozen as it is made (byte arrays cannot
 * be) — the runtime's frozen intent payloads, in one pass instead of a copy and a walk.
 */
export function toClasp(v: unknown, freeze = false): ClaspValueInput {
  if (v === null || typeof v !== "object") return v as ClaspValueInput;
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) {
    const a = v.map((x) => toClasp(x, freeze));
    return freeze ? Object.freeze(a) : a;
  }
  if (v instanceof Uint8Array) return v.slice();
  const out: Record<string, ClaspValueInput> = {};
  if (v instanceof Map) {
    for (const [k, x] of v) out[String(k)] = toClasp(x, freeze);
    return freeze ? Object.freeze(out) : out;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return v as ClaspValueInput;
  // own enumerable string keys in Object.entries order, without its pairs
  for (const k of Object.keys(v)) {
    const x = toClasp((v as Record<string, unknown>)[k], freeze);
    // a "__proto__" key is data (as the codec decodes it), not the copy's prototype
    if (k === "__proto__") Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
    else out[k] = x;
  }
  return freeze ? Object.freeze(out) : out;
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
  const fields = patch as Record<string, unknown>;
  // own enumerable string keys in Object.entries order, without its pairs
  for (const path of Object.keys(fields)) {
    const v = fields[path];
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
      case "push": ops.push(["push", path, ...a.map((x) => toClasp(x))]); break;
      case "insert": ops.push(["splice", path, a[0] as number, 0, [toClasp(a[1])]]); break;
      case "remove": ops.push(["splice", path, a[0] as number, 1]); break;
      case "splice": ops.push(["splice", path, a[0] as number, a[1] as number, (a[2] as unknown[]).map((x) => toClasp(x))]); break;
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

/** What {@link applyOps} answers when an op is outside what it reproduces: the caller decodes the state from the engine instead. */
export const UNKNOWN: unique symbol = Symbol("clawft.clp.unknown");

/**
 * The state after a committed commit's ops, computed in JavaScript from the state before it
 * (the runtime's frozen state view, kept between commits instead of decoding the engine's
 * state each time). Reproduces the engine's tree semantics (assembly/clp/tree.ts `set`,
 * `del`, `push`, `splice`, `removeAt`) for the cases it accepts, with structural sharing: only the objects on a
 * changed path are new, and every new object or array is frozen. A change to those ops in
 * tree.ts must be made here too (test/clp/closures-mirror.test.ts compares the two). Accepted: paths of
 * dot-separated keys (no brackets, no `__proto__`) through plain objects, where a missing or
 * null object on the way is created as `{}` (as the engine does); values made of null,
 * booleans, numbers, bigints, well-formed strings, plain objects and arrays (`undefined`
 * inside them becomes null, as the codec encodes it); `splice` and `removeAt` of an array
 * reached that way. Anything else — array indices in paths, bytes (which cannot be frozen),
 * `TypedNumber`s, a path through a non-object — answers {@link UNKNOWN}.
 * Only for ops the engine applied without error: it does not check what the engine checks
 * (depth and size limits).
 * @param state the frozen state before the commit (not changed)
 * @param ops the ops as sent to the engine (docs/clp-formats.md §Ops), after {@link toClasp}
 * @returns the frozen state after them, or {@link UNKNOWN}
 */
export function applyOps(state: Readonly<Record<string, unknown>>, ops: readonly ClaspValueInput[]): Readonly<Record<string, unknown>> | typeof UNKNOWN {
  let root: Record<string, unknown> = state as Record<string, unknown>;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as readonly ClaspValueInput[];
    const path = op[1];
    if (typeof path !== "string" || path.length === 0 || path.includes("[") || path === "__proto__") return UNKNOWN;
    // the common flat key without a split
    const keys = path.includes(".") ? path.split(".") : [path];
    if (keys.length > 1) for (let k = 0; k < keys.length; k++) if (keys[k] === "" || keys[k] === "__proto__") return UNKNOWN;
    let next: Record<string, unknown> | typeof UNKNOWN;
    switch (op[0]) {
      case "set": {
        const value = frozenValue(op[2], 0);
        next = value === UNKNOWN ? UNKNOWN : write(root, keys, 0, value, true);
        break;
      }
      case "del":
        next = write(root, keys, 0, DELETE, false);
        break;
      case "push": {
        const items: unknown[] = [];
        for (let j = 2; j < op.length; j++) {
          const item = frozenValue(op[j], 0);
          if (item === UNKNOWN) return UNKNOWN;
          items.push(item);
        }
        next = write(root, keys, 0, (old: unknown) => (old === undefined || old === null ? Object.freeze(items) : Array.isArray(old) ? Object.freeze([...old, ...items]) : UNKNOWN), true);
        break;
      }
      case "splice": {
        // tree.ts `splice`: start and count truncated and clamped as Array.prototype.splice does
        const [, , start, count, add] = op;
        if (typeof start !== "number" || typeof count !== "number" || !(add === undefined || add === null || Array.isArray(add))) return UNKNOWN;
        const items = add ? frozenValue(add, 0) : [];
        if (items === UNKNOWN) return UNKNOWN;
        next = write(root, keys, 0, (old: unknown) => {
          if (!Array.isArray(old)) return UNKNOWN;
          const out = [...old];
          out.splice(start, count, ...(items as unknown[]));
          return Object.freeze(out);
        }, true);
        break;
      }
      case "removeAt": {
        // tree.ts `removeAt`: the indices ascending and distinct, each one present (or the engine refused)
        const drop = op[2];
        if (!Array.isArray(drop)) return UNKNOWN;
        next = write(root, keys, 0, (old: unknown) => {
          if (!Array.isArray(old)) return UNKNOWN;
          const out: unknown[] = [];
          let j = 0;
          for (let i = 0; i < old.length; i++) {
            if (j < drop.length && drop[j] === i) j++;
            else out.push(old[i]);
          }
          return j < drop.length ? UNKNOWN : Object.freeze(out);
        }, true);
        break;
      }
      default:
        return UNKNOWN;
    }
    if (next === UNKNOWN) return UNKNOWN;
    root = next;
  }
  return root;
}

/** The value {@link write} puts at the end of the path for a `del`. */
const DELETE: unique symbol = Symbol("delete");
/** What {@link write} puts at the end of a path: a value, DELETE, or a function of the old value (push). */
type Leaf = unknown;

/**
 * A frozen copy of `obj` with `keys[at…]` written (`leaf`: the new value, DELETE, or a function
 * of the old value); UNKNOWN when the path goes through a non-object. Without `create`
 * (del), an absent object on the way leaves `obj` as it is, as the engine's `del` does.
 */
function write(obj: Record<string, unknown>, keys: string[], at: number, leaf: Leaf, create: boolean): Record<string, unknown> | typeof UNKNOWN {
  const key = keys[at]!;
  const has = Object.prototype.hasOwnProperty.call(obj, key);
  const old = has ? obj[key] : undefined;
  let value: unknown;
  if (at === keys.length - 1) {
    if (leaf === DELETE) return has ? copy(obj, key, DELETE) : obj;
    value = typeof leaf === "function" ? (leaf as (old: unknown) => unknown)(old) : leaf;
    if (value === UNKNOWN) return UNKNOWN;
  } else {
    if (old === undefined || old === null) {
      if (!create) return obj;
      value = write(EMPTY, keys, at + 1, leaf, create);
    } else if (isPlainObject(old)) {
      value = write(old as Record<string, unknown>, keys, at + 1, leaf, create);
      if (value === old) return obj;
    } else return UNKNOWN; // an array (indices: not reproduced here) or a scalar the engine refuses
    if (value === UNKNOWN) return UNKNOWN;
  }
  return copy(obj, key, value);
}

/**
 * A frozen copy of `obj` with `key` (never "__proto__") set to `value` or removed (DELETE), in
 * the key order the decoded state would have: the engine's map keeps insertion order and adds
 * a new key last, and a JavaScript object built from either enumerates them alike. (Spread
 * defines properties, so a "__proto__" data key of `obj` stays a data key.)
 */
function copy(obj: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const out = { ...obj };
  if (value === DELETE) delete out[key];
  else out[key] = value;
  return Object.freeze(out);
}

const EMPTY: Record<string, unknown> = Object.freeze({});
/** In `u` mode a surrogate pair is one code point: only a lone surrogate matches. */
const LONE_SURROGATE = /\p{Cs}/u;

const isPlainObject = (v: unknown): boolean => {
  const proto = Object.getPrototypeOf(v);
  return typeof v === "object" && !Array.isArray(v) && (proto === Object.prototype || proto === null);
};

/**
 * A frozen copy of a value as the engine's state will hold it once decoded (the codec's
 * decodeValue of its encoding): undefined → null, array holes → null; UNKNOWN for values
 * it does not reproduce (see {@link applyOps}).
 */
function frozenValue(v: ClaspValueInput | unknown, depth: number): unknown {
  switch (typeof v) {
    case "number":
    case "boolean":
    case "bigint":
      return v;
    case "undefined":
      return null;
    case "string":
      // a lone surrogate does not survive UTF-8
      return LONE_SURROGATE.test(v) ? UNKNOWN : v;
    case "object": {
      if (v === null) return null;
      if (depth > 64) return UNKNOWN;
      if (Array.isArray(v)) {
        const out: unknown[] = new Array(v.length);
        for (let i = 0; i < v.length; i++) {
          const x = frozenValue(v[i], depth + 1);
          if (x === UNKNOWN) return UNKNOWN;
          out[i] = x;
        }
        return Object.freeze(out);
      }
      if (!isPlainObject(v)) return UNKNOWN; // bytes, TypedNumber, Map, class instances
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v as object)) {
        if (k === "__proto__") return UNKNOWN;
        const x = frozenValue((v as Record<string, unknown>)[k], depth + 1);
        if (x === UNKNOWN) return UNKNOWN;
        out[k] = x;
      }
      return Object.freeze(out);
    }
    default:
      return UNKNOWN;
  }
}
