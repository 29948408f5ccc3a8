/**
 * What the cores' Worker faces (`clawft/clasp/worker`, `clawft/clp/worker`) share: one comlink
 * endpoint for a browser `Worker`, a Node `worker_threads.Worker` or any comlink `Endpoint`;
 * typed errors that cross the structured clone as data and come back as instances of their
 * class; and a crash watch, so a Worker that dies rejects every pending and later call with a
 * {@link WorkerCrashError} instead of leaving them pending forever (comlink alone never settles
 * a call whose Worker is gone).
 * @module
 */
import { expose, wrap, releaseProxy, type Endpoint, type Remote } from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";

/** A Node `worker_threads.Worker` or MessagePort (EventEmitter style). */
export interface NodeLike {
  on(type: string, listener: (...args: never[]) => void): unknown;
  off(type: string, listener: (...args: never[]) => void): unknown;
  postMessage(message: unknown, transfer?: never[]): void;
  terminate?(): unknown;
}

/** Where the Worker is: a browser Worker, a Node worker, or a comlink endpoint. */
export type WorkerLike = Worker | NodeLike | Endpoint;

/**
 * The Worker died or reported an uncaught error, so its state is unknown: every call pending
 * at that moment and every later call rejects with this. `cause` is the Worker's error, or
 * its exit code (Node).
 */
export class WorkerCrashError extends Error {
  override name = "WorkerCrashError";
  constructor(
    message: string,
    /** The uncaught error (browser: its message), or the exit code. */
    readonly reason: unknown,
  ) {
    super(message);
  }
}

/** The plain form an error takes across a Worker: its class name and own fields. */
interface ErrorData {
  readonly crossedError: string;
  readonly fields: Record<string, unknown>;
}

/**
 * Turns an Error into plain data that survives a structured clone with all its own fields
 * (`code`, `offset`, `guard`, …; a plain clone keeps only `message`). Other values pass unchanged.
 */
export function errorToData(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const fields: Record<string, unknown> = { message: err.message, stack: err.stack };
  for (const [k, v] of Object.entries(err)) fields[k] = v;
  return { crossedError: err.name, fields } satisfies ErrorData;
}

/** True for {@link errorToData}'s output. */
export function isErrorData(x: unknown): boolean {
  return typeof x === "object" && x !== null && "crossedError" in x && "fields" in x;
}

/**
 * Rebuilds an error from {@link errorToData}'s output as an instance of `classes[name]` (so
 * `instanceof` works again), with every field it had. Unknown names become a plain Error
 * with that name; values that are not error data pass unchanged.
 */
export function dataToError(data: unknown, classes: Readonly<Record<string, abstract new (...args: never[]) => Error>>): unknown {
  if (!isErrorData(data)) return data;
  const d = data as ErrorData;
  const Kind = classes[d.crossedError] ?? Error;
  const err = Object.create(Kind.prototype) as Error;
  Object.assign(err, d.fields, { name: d.crossedError });
  return err;
}

/** The calling side of a Worker: comlink's remote plus the crash watch. */
export class WorkerConnection<Api> {
  readonly remote: Remote<Api>;
  readonly #worker: WorkerLike;
  #crash: WorkerCrashError | undefined;
  readonly #pending = new Set<(err: WorkerCrashError) => void>();
  readonly #unwatch: () => void;

  /** Wraps `worker` and starts watching it for errors and exits. */
  constructor(worker: WorkerLike, what: string) {
    this.#worker = worker;
    const nodeStyle = typeof (worker as NodeLike).on === "function" && !("addEventListener" in worker);
    this.remote = wrap<Api>(nodeStyle ? nodeEndpoint(worker as never) : (worker as Endpoint));
    const die = (reason: unknown, text: string) => {
      if (this.#crash) return;
      this.#crash = new WorkerCrashError(`the ${what} Worker crashed: ${text}`, reason);
      for (const reject of this.#pending) reject(this.#crash);
      this.#pending.clear();
    };
    if (nodeStyle) {
      const w = worker as NodeLike;
      const onError = (err: Error) => die(err, err.message);
      const onExit = (code: number) => die(code, `exited with code ${code}`);
      w.on("error", onError);
      w.on("exit", onExit);
      this.#unwatch = () => (w.off("error", onError), w.off("exit", onExit));
    } else if (typeof (worker as Worker).addEventListener === "function" && typeof (worker as Worker).terminate === "function") {
      // A browser Worker: an uncaught error fires "error" on it (the Worker may live on, but
      // its state is no longer trustworthy).
      const w = worker as Worker;
      const onError = (ev: ErrorEvent) => die(ev.message, ev.message || "uncaught error");
      w.addEventListener("error", onError);
      this.#unwatch = () => w.removeEventListener("error", onError);
    } else {
      this.#unwatch = () => {};
    }
  }

  /**
   * Runs one remote call: rebuilds typed errors from `classes`, and rejects with
   * {@link WorkerCrashError} when the Worker dies before answering (or died before).
   */
  call<T>(fn: (remote: Remote<Api>) => Promise<T>, classes: Readonly<Record<string, abstract new (...args: never[]) => Error>>): Promise<T> {
    if (this.#crash) return Promise.reject(this.#crash);
    return new Promise<T>((resolve, reject) => {
      this.#pending.add(reject);
      fn(this.remote).then(
        (v) => (this.#pending.delete(reject), resolve(v)),
        (e: unknown) => (this.#pending.delete(reject), reject(dataToError(e, classes))),
      );
    });
  }

  /** Releases the proxy, stops watching and terminates the Worker; later calls reject. */
  async terminate(): Promise<void> {
    this.#unwatch();
    this.#crash ??= new WorkerCrashError("the Worker was terminated", "terminated");
    for (const reject of this.#pending) reject(this.#crash);
    this.#pending.clear();
    this.remote[releaseProxy]();
    await (this.#worker as { terminate?: () => unknown }).terminate?.();
  }
}

/**
 * Exposes `api` from inside a Worker: on Node's `parentPort` in a worker thread, on `self`
 * in a browser Worker, or on `endpoint` when given. In a browser it listens before it returns
 * (messages that reach a Worker before it listens are lost), so call it before any await;
 * Node queues them until the port listens.
 */
export async function exposeApi(api: object, endpoint?: Endpoint): Promise<void> {
  if (endpoint) return expose(api, endpoint);
  if (typeof process !== "undefined" && process.versions?.node) {
    const wt = "node:worker_threads"; // through a variable: bundlers leave it alone
    const { parentPort } = (await import(/* @vite-ignore */ wt)) as typeof import("node:worker_threads");
    if (!parentPort) throw new Error("exposeApi: not in a worker thread and no endpoint given");
    return expose(api, nodeEndpoint(parentPort as never));
  }
  expose(api);
}

/**
 * Wraps every method of `api` so that a thrown error crosses as data ({@link errorToData}).
 * The methods run with `api` as `this`.
 */
export function guarded<T extends object>(api: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, fn] of Object.entries(api)) {
    out[k] = async (...args: unknown[]) => {
      try {
        return await (fn as (...a: unknown[]) => unknown).apply(api, args);
      } catch (err) {
        throw errorToData(err);
      }
    };
  }
  return out as T;
}

/** Every distinct ArrayBuffer under the typed arrays in `views` (transfer lists must not repeat one). */
export function buffersOf(views: Iterable<ArrayBufferView | undefined>): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>();
  for (const v of views) if (v && v.buffer instanceof ArrayBuffer) set.add(v.buffer);
  return [...set];
}
