/**
 * The runner interface: how the executor starts a plugin of some kind and talks bytes to it.
 * Framing is the executor's job; a runner only moves bytes (stdin, stdout) and reports the exit.
 * Runtime-specific runners live in `node.ts` (child_process, worker_threads + node:wasi) and
 * `browser.ts` (Web Workers + a WASI shim).
 * @module
 */
import type { PluginInfo, PluginKind } from "./manifest.js";

/** How a plugin ended: its exit code, or the signal that killed it. */
export interface ExitStatus {
  /** Exit code; null when killed by a signal or terminated. */
  readonly code: number | null;
  /** Signal name (processes) or "terminated" (workers) when it was stopped. */
  readonly signal: string | null;
}

/** A started plugin: stdin, stdout, exit status and kill. */
export interface PluginProcess {
  /**
   * Writes bytes to the plugin's stdin; resolves once they are accepted (this is where a slow
   * plugin slows its producer).
   * @throws Error when stdin is closed (the plugin exited or closed it)
   */
  write(chunk: Uint8Array): Promise<void>;
  /** Closes stdin (idempotent). */
  closeStdin(): void;
  /** Next chunk of stdout, cut anywhere; null at end of stdout. Not reading is backpressure. */
  read(): Promise<Uint8Array | null>;
  /** Settles (never rejects) once the plugin has exited and its resources are released. */
  readonly exited: Promise<ExitStatus>;
  /** Stops the plugin at once (SIGKILL / terminate); idempotent; `exited` settles afterwards. */
  kill(): void;
  /** The last few KiB the plugin wrote to stderr, as text. */
  stderrTail(): string;
}

/** What a runner is told about the run it starts a plugin for. */
export interface RunnerContext {
  /** Id of the node being started (for messages). */
  readonly node: string;
  /** Largest frame payload, in bytes (the handshake's `max_frame`). */
  readonly maxFrame: number;
}

/**
 * Starts one instance of a plugin.
 * @throws Error when it cannot be started (missing file, not a WASI command, …); the executor
 *   reports this as `SPAWN_FAILED`
 */
export type Runner = (plugin: PluginInfo, ctx: RunnerContext) => Promise<PluginProcess>;

/** The runners a host offers, by plugin kind. */
export type Runners = Readonly<Partial<Record<PluginKind, Runner>>>;

/** Keeps the last `limit` characters of text written to it (a plugin's stderr). */
export class TailBuffer {
  #text = "";
  readonly #limit: number;
  /** @param limit characters kept. Defaults to 4096. */
  constructor(limit = 4096) {
    this.#limit = limit;
  }
  /** Appends text, dropping the oldest beyond the limit. */
  push(text: string): void {
    this.#text = (this.#text + text).slice(-this.#limit);
  }
  /** The kept text. */
  toString(): string {
    return this.#text;
  }
}
