/**
 * The one pipeline executor, used by the CLI, the daemon and the browser: it starts every node's
 * plugin, sends the handshakes, streams framed bytes from node to node with backpressure, and
 * supervises timeouts, limits, errors and cancellation (docs/plugin-protocol.md §4).
 * Runs in every host (no Node modules): the host supplies the {@link Runners}.
 * @module
 */
import { FrameError, PipelineError, type PipelineErrorCode, type PluginErrorFrame } from "./errors.js";
import { chunkPayload, DEFAULT_MAX_FRAME, encodeFrame, END_FRAME, FrameReader, frameHeader } from "./frames.js";
import type { ResolvedNode, ResolvedPipeline } from "./orchestration.js";
import { encodeHandshake, isCompatibleProtocol, parseErrorFrame, PROTOCOL_VERSION } from "./protocol.js";
import type { ExitStatus, PluginProcess, Runners } from "./runner.js";

/** What a pipeline can read: bytes, text (UTF-8), a web stream or any async iterable of bytes. */
export type PipelineInput = Uint8Array | string | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** Options of {@link executePipeline}. */
export interface ExecuteOptions {
  /** How to start each plugin kind in this host. */
  readonly runners: Runners;
  /** Largest frame payload in bytes, both directions. Defaults to 1 MiB. */
  readonly maxFrame?: number;
  /** Inactivity timeout of a node that sets none, in ms (docs/plugin-protocol.md §4). Defaults to 30 000. */
  readonly timeoutMs?: number;
  /** Upper bound of a node's total output in bytes (`OUTPUT_LIMIT`). Defaults to 2 GiB. */
  readonly maxOutputBytes?: number;
  /** Bytes buffered between two nodes (and before the consumer) before the producer waits. Defaults to 256 KiB. */
  readonly bufferBytes?: number;
  /** Aborting it cancels the run (`CANCELLED`). */
  readonly signal?: AbortSignal;
}

/** Progress of one node. */
export interface NodeProgress {
  readonly id: string;
  readonly plugin: string;
  /** starting → running → done | failed | cancelled. */
  readonly state: "pending" | "starting" | "running" | "done" | "failed" | "cancelled";
  /** Payload bytes sent to the plugin. */
  readonly bytesIn: number;
  /** Payload bytes received from the plugin. */
  readonly bytesOut: number;
}

/** Progress of a run: per node, plus the pipeline's own input and output byte counts. */
export interface RunProgress {
  readonly nodes: readonly NodeProgress[];
  readonly inputBytes: number;
  readonly outputBytes: number;
  /** Milliseconds since the run started. */
  readonly elapsedMs: number;
}

/** How a successful run went. */
export interface RunSummary extends RunProgress {
  /** Non-fatal plugin errors (the run completed with the output produced so far). */
  readonly warnings: readonly PipelineError[];
}

/** A started pipeline run. */
export interface PipelineRun {
  /** The last node's output, streamed as it is produced. Cancelling it cancels the run. */
  readonly output: ReadableStream<Uint8Array>;
  /**
   * Settles once every plugin has exited: resolves with the summary, or rejects with the
   * {@link PipelineError} that ended the run (the same error `output` fails with).
   */
  readonly done: Promise<RunSummary>;
  /** Stops every plugin; the run fails with `CANCELLED` unless it already ended. */
  cancel(reason?: string): void;
  /** A snapshot of the run's progress. */
  progress(): RunProgress;
}

/** A bounded byte queue between two stages. */
class Channel {
  readonly #queue: Uint8Array[] = [];
  #bytes = 0;
  #closed = false;
  #discard = false;
  #error: unknown = null;
  #wakeTaker: (() => void) | null = null;
  #wakePutter: (() => void) | null = null;
  constructor(readonly limit: number) {}

  /** Enqueues `chunk`; waits while the queue holds `limit` bytes or more. */
  async put(chunk: Uint8Array): Promise<void> {
    while (this.#bytes >= this.limit && !this.#discard && this.#error === null) {
      await new Promise<void>((r) => (this.#wakePutter = r));
    }
    if (this.#error !== null) throw this.#error;
    if (this.#discard) return;
    this.#queue.push(chunk);
    this.#bytes += chunk.length;
    this.#wake("taker");
  }

  /** Next chunk, or null once closed and drained. */
  async take(): Promise<Uint8Array | null> {
    while (this.#queue.length === 0 && !this.#closed && this.#error === null) {
      await new Promise<void>((r) => (this.#wakeTaker = r));
    }
    if (this.#error !== null) throw this.#error;
    const chunk = this.#queue.shift();
    if (!chunk) return null;
    this.#bytes -= chunk.length;
    this.#wake("putter");
    return chunk;
  }

  /** No more puts will come. */
  close(): void {
    this.#closed = true;
    this.#wake("taker");
  }

  /** True once the consumer is gone (see {@link Channel.discard}). */
  get discarded(): boolean {
    return this.#discard;
  }

  /** The consumer is gone: drop what is queued and every later put. */
  discard(): void {
    this.#discard = true;
    this.#queue.length = 0;
    this.#bytes = 0;
    this.#wake("putter");
  }

  /** Fails both ends with `error`. */
  fail(error: unknown): void {
    if (this.#error === null) this.#error = error;
    this.#wake("taker");
    this.#wake("putter");
  }

  #wake(which: "taker" | "putter"): void {
    const w = which === "taker" ? this.#wakeTaker : this.#wakePutter;
    if (which === "taker") this.#wakeTaker = null;
    else this.#wakePutter = null;
    w?.();
  }
}

/** Iterates a web stream's chunks (lib.dom's ReadableStream type has no async iterator). */
export async function* iterateStream<T>(stream: ReadableStream<T>): AsyncGenerator<T> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

async function* inputChunks(input: PipelineInput): AsyncGenerator<Uint8Array> {
  if (typeof input === "string") {
    yield new TextEncoder().encode(input);
  } else if (input instanceof Uint8Array) {
    yield input;
  } else if (typeof (input as ReadableStream<Uint8Array>).getReader === "function") {
    yield* iterateStream(input as ReadableStream<Uint8Array>);
  } else {
    yield* input as AsyncIterable<Uint8Array>;
  }
}

/** Payloads up to this size are copied behind their header and written once; larger ones go as two writes. */
const COALESCE_BYTES = 4096;

/** Writes one frame to a plugin's stdin: one write (a copy) for a small payload, header then payload for a large one. */
async function writeFrame(proc: PluginProcess, payload: Uint8Array): Promise<void> {
  if (payload.length <= COALESCE_BYTES) return proc.write(encodeFrame(payload));
  await proc.write(frameHeader(payload.length));
  await proc.write(payload);
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_OUTPUT = 2 ** 31;
const DEFAULT_BUFFER = 256 * 1024;

/** Mutable per-node state. */
class Stage {
  state: NodeProgress["state"] = "pending";
  bytesIn = 0;
  bytesOut = 0;
  proc: PluginProcess | null = null;
  /** The plugin is waiting for input that has not come yet (its clock is paused). */
  starved = false;
  /** The consumer of this node's output is not accepting more (its clock is paused). */
  blocked = false;
  lastProgress = Date.now();
  constructor(
    readonly node: ResolvedNode,
    readonly input: Channel,
    readonly output: Channel,
  ) {}
  touch(): void {
    this.lastProgress = Date.now();
  }
}

/** Checks an optional limit: undefined, or a positive safe integer. @throws RangeError otherwise */
function positiveLimit(value: number | undefined, what: string): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
    throw new RangeError(`${what} must be a positive integer, got ${String(value)}`);
  }
}

/**
 * Runs a validated pipeline on `input` and streams the last node's output.
 * @param pipeline from {@link validateOrchestration}
 * @param input the first node's input, of `pipeline.inputType`
 * @returns the run: `output` stream, `done` promise, `cancel()`, `progress()`. Failures (typed
 *   {@link PipelineError}, naming the node) surface through both `output` and `done`.
 * @throws RangeError when a limit of `options` (or a node's timeout) is not a positive integer:
 *   a NaN or negative timeout would silently disable the hang watchdog
 */
export function executePipeline(pipeline: ResolvedPipeline, input: PipelineInput, options: ExecuteOptions): PipelineRun {
  for (const key of ["timeoutMs", "maxFrame", "maxOutputBytes", "bufferBytes"] as const) positiveLimit(options[key], key);
  for (const n of pipeline.nodes) {
    positiveLimit(n.timeoutMs, `timeoutMs of node "${n.id}"`);
    positiveLimit(n.pluginTimeoutMs, `timeout_ms of plugin "${n.plugin.id}"`);
  }
  const maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME;
  const bufferBytes = options.bufferBytes ?? DEFAULT_BUFFER;
  const maxOutput = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const started = Date.now();
  const channels = Array.from({ length: pipeline.nodes.length + 1 }, () => new Channel(bufferBytes));
  const stages = pipeline.nodes.map((n, i) => new Stage(n, channels[i]!, channels[i + 1]!));
  const warnings: PipelineError[] = [];
  let inputBytes = 0;
  let outputBytes = 0;
  let failure: PipelineError | null = null;
  let finished = false;

  const progress = (): RunProgress => ({
    nodes: stages.map((s) => ({ id: s.node.id, plugin: s.node.plugin.id, state: s.state, bytesIn: s.bytesIn, bytesOut: s.bytesOut })),
    inputBytes,
    outputBytes,
    elapsedMs: Date.now() - started,
  });

  /** Ends the run with `error` (the first one wins): every plugin is killed. */
  const abort = (error: PipelineError): void => {
    if (failure || finished) return;
    failure = error;
    for (const s of stages) {
      if (s.state === "running" || s.state === "starting" || s.state === "pending") {
        s.state = error.node === s.node.id ? "failed" : "cancelled";
      }
      s.proc?.kill();
    }
    for (const c of channels) c.fail(error);
  };

  const fail = (stage: Stage, code: PipelineErrorCode, message: string, extra: { pluginError?: PluginErrorFrame; cause?: unknown } = {}): PipelineError => {
    const err = new PipelineError(code, message, {
      node: stage.node.id,
      plugin: stage.node.plugin.id,
      stderr: stage.proc?.stderrTail() || undefined,
      ...extra,
    });
    abort(err);
    return err;
  };

  // Feeds the pipeline input into the first channel.
  const feed = async (): Promise<void> => {
    const first = channels[0]!;
    try {
      for await (const chunk of inputChunks(input)) {
        if (failure || first.discarded) return; // aborted, or the first node finished without reading it all
        if (chunk.length === 0) continue;
        inputBytes += chunk.length;
        await first.put(chunk);
      }
      first.close();
    } catch (e) {
      if (!failure) abort(new PipelineError("INPUT_ERROR", `reading the pipeline input failed: ${(e as Error).message}`, { cause: e }));
    }
  };

  // Writes handshake, data frames and the end frame to one plugin.
  const pumpIn = async (s: Stage, proc: PluginProcess): Promise<void> => {
    const n = s.node;
    const handshake = encodeHandshake({
      protocol: PROTOCOL_VERSION,
      input_type: n.inputType,
      output_type: n.outputType,
      config: n.options,
      max_frame: maxFrame,
    });
    try {
      if (handshake.length > maxFrame) {
        fail(s, "PROTOCOL_VIOLATION", `handshake of ${handshake.length} bytes exceeds max_frame ${maxFrame}`);
        return;
      }
      await writeFrame(proc, handshake);
      s.touch();
      for (;;) {
        s.starved = true;
        const chunk = await s.input.take();
        s.starved = false;
        s.touch();
        if (chunk === null) break;
        for (const part of chunkPayload(chunk, maxFrame)) {
          await writeFrame(proc, part);
          s.bytesIn += part.length;
          s.touch();
        }
      }
      await proc.write(END_FRAME);
      proc.closeStdin();
    } catch {
      // A closed stdin is a symptom; the exit status or stdout tells the cause (pumpOut reports it).
      s.starved = false;
      s.input.discard();
    }
  };

  // Reads frames from one plugin and judges how it ended.
  const pumpOut = async (s: Stage, proc: PluginProcess): Promise<void> => {
    const reader = new FrameReader(maxFrame);
    let ended = false;
    let trailer: PluginErrorFrame | null = null;
    let truncated: FrameError | null = null;
    for (;;) {
      const chunk = await proc.read();
      if (failure) return;
      if (chunk === null) break;
      s.touch();
      let frames: Uint8Array[];
      try {
        frames = reader.push(chunk);
      } catch (e) {
        const fe = e as FrameError;
        fail(s, fe.code, fe.message);
        return;
      }
      for (const f of frames) {
        if (!ended) {
          if (f.length === 0) {
            ended = true;
            continue;
          }
          s.bytesOut += f.length;
          if (s.bytesOut > maxOutput) {
            fail(s, "OUTPUT_LIMIT", `output exceeds the limit of ${maxOutput} bytes`);
            return;
          }
          s.blocked = true;
          try {
            await s.output.put(f);
          } catch {
            return; // the run was aborted meanwhile
          } finally {
            s.blocked = false;
            s.touch();
          }
          if (s === stages.at(-1)) outputBytes += f.length;
        } else if (trailer === null) {
          trailer = parseErrorFrame(f);
          if (!trailer) {
            fail(s, "PROTOCOL_VIOLATION", `after its end frame the plugin sent ${f.length} bytes that are not a {type, message, fatal} error frame`);
            return;
          }
        } else {
          fail(s, "PROTOCOL_VIOLATION", "the plugin sent more than one frame after its end frame");
          return;
        }
      }
    }
    try {
      reader.end();
    } catch (e) {
      truncated = e as FrameError;
    }
    const status: ExitStatus = await proc.exited;
    if (failure) return;
    const exit = status.code === null ? `was killed (${status.signal ?? "unknown"})` : `exited with code ${status.code}`;
    if (trailer) {
      const message = `plugin "${s.node.plugin.id}" reported ${trailer.type}: ${trailer.message}`;
      if (trailer.fatal) {
        fail(s, "PLUGIN_ERROR", message, { pluginError: trailer });
        return;
      }
      warnings.push(new PipelineError("PLUGIN_ERROR", message, { node: s.node.id, plugin: s.node.plugin.id, pluginError: trailer }));
    } else if (status.code !== 0) {
      fail(s, "INTERNAL_PLUGIN_FAILURE", `plugin "${s.node.plugin.id}" ${exit} without an error frame`);
      return;
    } else if (truncated) {
      fail(s, "TRUNCATED_FRAME", truncated.message);
      return;
    } else if (!ended) {
      fail(s, "EARLY_EXIT", `plugin "${s.node.plugin.id}" exited with code 0 before sending its end frame`);
      return;
    }
    s.state = "done";
    s.input.discard(); // a plugin may finish without reading all its input
    s.output.close();
  };

  /** A node's inactivity timeout in ms: the orchestration's for it, else the run's, else its plugin's, else the default. */
  const timeoutOf = (s: Stage): number => s.node.timeoutMs ?? options.timeoutMs ?? s.node.pluginTimeoutMs ?? DEFAULT_TIMEOUT_MS;

  // Enforces each node's inactivity timeout; the clock pauses while the node waits on a neighbour.
  // It looks four times per shortest timeout (every 10 ms to 1 s).
  const watchdog = setInterval(() => {
    const now = Date.now();
    for (const s of stages) {
      if (s.state !== "running" && s.state !== "starting") continue;
      if (s.starved || s.blocked) {
        s.lastProgress = now;
        continue;
      }
      const limit = timeoutOf(s);
      if (now - s.lastProgress > limit) {
        fail(s, "TIMEOUT", `no progress for ${limit} ms (inactivity timeout)`);
        return;
      }
    }
  }, Math.max(10, Math.min(1000, Math.floor(Math.min(...stages.map(timeoutOf)) / 4))));

  const runStage = async (s: Stage): Promise<void> => {
    const { plugin } = s.node;
    if (!isCompatibleProtocol(plugin.manifest.protocol_version)) {
      fail(s, "INCOMPATIBLE_PROTOCOL", `plugin "${plugin.id}" speaks protocol ${plugin.manifest.protocol_version}; this host speaks ${PROTOCOL_VERSION}`);
      return;
    }
    const runner = options.runners[plugin.manifest.kind];
    if (!runner) {
      fail(s, "UNSUPPORTED_KIND", `this host cannot run ${plugin.manifest.kind} plugins`);
      return;
    }
    s.state = "starting";
    s.touch();
    let proc: PluginProcess;
    try {
      proc = await runner(plugin, { node: s.node.id, maxFrame });
    } catch (e) {
      fail(s, "SPAWN_FAILED", `could not start plugin "${plugin.id}": ${(e as Error).message}`, { cause: e });
      return;
    }
    s.proc = proc;
    if (failure) {
      proc.kill();
      return;
    }
    s.state = "running";
    s.touch();
    await Promise.all([pumpIn(s, proc), pumpOut(s, proc)]);
  };

  const onAbortSignal = (): void => abort(new PipelineError("CANCELLED", `run cancelled: ${String(options.signal?.reason ?? "aborted")}`));
  if (options.signal?.aborted) onAbortSignal();
  options.signal?.addEventListener("abort", onAbortSignal, { once: true });

  const last = channels.at(-1)!;
  const all = Promise.all([feed(), ...stages.map(runStage)]).then(async () => {
    // Every plugin must be gone (reaped) before the run settles.
    await Promise.all(stages.map((s) => s.proc?.exited));
  });
  const settle = (): void => {
    clearInterval(watchdog);
    options.signal?.removeEventListener("abort", onAbortSignal);
  };
  const done = all.then(
    () => {
      settle();
      finished = true;
      if (failure) throw failure;
      return { ...progress(), warnings };
    },
    (e: unknown) => {
      settle();
      throw e;
    },
  );
  done.catch(() => {}); // the caller may only read `output`; never an unhandled rejection

  const output = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const chunk = await last.take();
          if (chunk === null) {
            await done; // report a late failure (e.g. an upstream node) instead of a short success
            controller.close();
          } else controller.enqueue(chunk);
        } catch (e) {
          controller.error(e);
        }
      },
      cancel(reason) {
        abort(new PipelineError("CANCELLED", `output cancelled: ${String(reason ?? "by the consumer")}`));
      },
    },
    { highWaterMark: 0 },
  );

  return {
    output,
    done,
    cancel: (reason?: string) => abort(new PipelineError("CANCELLED", `run cancelled: ${reason ?? "by the caller"}`)),
    progress,
  };
}
