/**
 * clawft.wasm in a page: the agent's browser build (build/jco/clawft-web/, made by
 * scripts/agent-web.mjs: the WASI 0.2 command component transpiled by jco for JSPI) run on
 * preview2-shim's browser WASI, with an in-memory home directory. The playground's agent panel
 * (web/panels/agent.ts) imports this module only when it first chats, so the glue (~0.8 MB of
 * JavaScript before minifying) and the 340 KB of wasm cost nothing to a page that never does.
 *
 * How a run works: each call of {@link AgentSession.run} instantiates the component afresh (a
 * command ends by calling `wasi:cli/exit`, which the shim throws through the guest), with a
 * `wasi:cli` of its own (arguments, `CLAWFT_HOME=/home`, stdout and stderr captured) and a
 * filesystem whose only preopen `/home` is the session's in-memory tree, so the config, the
 * session's history, the workspace and the audit log persist from one turn to the next. The
 * compiled core modules are cached. `wasi:http` is the shim's fetch-based client: the endpoint
 * must allow the page's origin (CORS) and receives the key from the page.
 * @module
 */
import { createCli } from "@bytecodealliance/preview2-shim/cli";
import { monotonicClock, wallClock } from "@bytecodealliance/preview2-shim/clocks";
import { createFilesystem, InMemoryFilesystemAdapter, type FileDataEntry } from "@bytecodealliance/preview2-shim/filesystem";
import { outgoingHandler, types as httpTypes } from "@bytecodealliance/preview2-shim/http";
import { error, poll, streams } from "@bytecodealliance/preview2-shim/io";
import { random } from "@bytecodealliance/preview2-shim/random";
import { instantiate, type ImportObject } from "../../build/jco/clawft-web/clawft-web.js";
import { AgentWebError, requireJspi } from "./agent-web.js";

export { AgentWebError } from "./agent-web.js";

/**
 * The core modules of the browser build, each named explicitly so the bundler ships exactly
 * these (jco's own fallback, `new URL(\`./${name}\`, import.meta.url)`, would make Vite bundle
 * the whole folder: toolchain.md).
 */
const CORE_MODULES: Record<string, URL> = {
  "clawft-web.core.wasm": new URL("../../build/jco/clawft-web/clawft-web.core.wasm", import.meta.url),
  "clawft-web.core2.wasm": new URL("../../build/jco/clawft-web/clawft-web.core2.wasm", import.meta.url),
  "clawft-web.core3.wasm": new URL("../../build/jco/clawft-web/clawft-web.core3.wasm", import.meta.url),
  "clawft-web.core4.wasm": new URL("../../build/jco/clawft-web/clawft-web.core4.wasm", import.meta.url),
};

/** Compiled core modules, by name: compiled once per page. */
const compiled = new Map<string, Promise<WebAssembly.Module>>();

function getCoreModule(name: string): Promise<WebAssembly.Module> {
  let m = compiled.get(name);
  if (!m) {
    const url = CORE_MODULES[name];
    if (!url) throw new AgentWebError(`the browser build asks for a core module it was not built with: ${name} (rebuild: node scripts/build.mjs --only clawft)`);
    m = WebAssembly.compileStreaming(fetch(url));
    compiled.set(name, m);
  }
  return m;
}

/** What the user typed: where the model is and how to reach it. */
export interface AgentEndpoint {
  /** Base URL of an OpenAI-compatible API, e.g. `http://127.0.0.1:8080/v1` (the agent POSTs `{apiBase}/chat/completions`). */
  apiBase: string;
  /** Sent as `Authorization: Bearer <apiKey>`; none when empty. */
  apiKey?: string;
  /** The model's name as the endpoint knows it, e.g. `gpt-4o-mini`. */
  model: string;
}

/** The outcome of one run of clawft.wasm. */
export interface RunResult {
  /** The command's exit status: 0 success, 1 an error (its line is on stderr). WASI 0.2's exit carries only ok/error. */
  code: number;
  /** Everything the agent wrote to stdout (the answer, streamed), as UTF-8 text. */
  stdout: string;
  /** Everything it wrote to stderr. */
  stderr: string;
}

/** One line of `workspace/audit.log` (docs/agent-tools.md §The audit log), the members the panel shows. */
export interface AuditEntry {
  seq: number;
  time: number;
  session?: string;
  tool?: string;
  args?: unknown;
  /** `commit`, `deny`, `invalid`, `error` or `repair`. */
  decision: string;
  guard?: string;
  reason?: string;
  hash: string;
}

/** An agent with a home directory in memory (config, sessions, workspace, audit log). */
export interface AgentSession {
  /**
   * Runs clawft.wasm once with `args` (the words after `clawft.wasm`, e.g. `["chat", "hi"]`),
   * calling `onStdout` with each piece of stdout as it is written (a streamed answer arrives in
   * pieces). Resolves when the command exits; rejects with {@link AgentWebError} when the
   * component cannot be loaded or traps. Runs are serialised: a second call waits for the first.
   */
  run(args: string[], onStdout?: (text: string) => void): Promise<RunResult>;
  /** One chat turn in session `web:playground`: `run(["chat", message])`. */
  chat(message: string, onStdout?: (text: string) => void): Promise<RunResult>;
  /** The entries of `workspace/audit.log` so far (every governed tool call), oldest first. */
  audit(): AuditEntry[];
  /** Reads a file of the home directory as text (`workspace/notes/a.txt`); undefined when it does not exist. */
  readFile(path: string): string | undefined;
  /** Rewrites `config.json` for another endpoint; the history and workspace stay. */
  configure(endpoint: AgentEndpoint): void;
}

/** The session key of the panel's turns (its history is `workspace/sessions/web%3Aplayground.jsonl`). */
export const SESSION = "web:playground";

const utf8 = new TextEncoder();

/**
 * The agent's `config.json` (docs/agent.md §Configuration) for `endpoint`: one provider,
 * `page`, speaking the OpenAI Chat Completions API at the typed base URL; the model is
 * `page/<model>` so the agent picks that provider and sends `<model>`.
 */
export function configFor(endpoint: AgentEndpoint): string {
  if (!/^https?:\/\/[^/]/.test(endpoint.apiBase)) throw new AgentWebError(`the endpoint must be an http:// or https:// URL, got ${JSON.stringify(endpoint.apiBase)}`);
  if (!endpoint.model.trim()) throw new AgentWebError("the model name is empty");
  const provider: Record<string, string> = { api: "openai", apiBase: endpoint.apiBase.replace(/\/+$/, "") };
  if (endpoint.apiKey) provider.apiKey = endpoint.apiKey;
  return JSON.stringify({ agents: { defaults: { model: `page/${endpoint.model.trim()}` } }, providers: { page: provider } }, null, 2);
}

/** Finds `path` (slash-separated, relative) in the in-memory tree. */
function lookup(root: FileDataEntry, path: string): FileDataEntry | undefined {
  let at: FileDataEntry | undefined = root;
  for (const part of path.split("/").filter(Boolean)) at = at?.dir?.[part];
  return at;
}

/** An output stream handler that decodes UTF-8 as it arrives (a character may span two writes). */
function textSink(onText: (s: string) => void) {
  const decoder = new TextDecoder();
  return {
    write: (bytes: Uint8Array) => onText(decoder.decode(bytes, { stream: true })),
    blockingFlush: () => onText(decoder.decode()),
  };
}

/** The exit status a `wasi:cli/exit` carried, found on the error the shim threw (jco may wrap it in `cause`s); undefined for any other error. */
function exitCode(e: unknown): number | undefined {
  for (let c = e, depth = 0; c && typeof c === "object" && depth < 8; c = (c as { cause?: unknown }).cause, depth++) {
    if ((c as { exitError?: boolean }).exitError === true && typeof (c as { code?: unknown }).code === "number") return (c as { code: number }).code;
  }
  return undefined;
}

/**
 * Creates an agent whose home is a fresh in-memory directory holding `config.json` for
 * `endpoint`. Throws {@link AgentWebError} when this browser lacks JSPI or the endpoint is not
 * an http(s) URL.
 */
export function createAgentSession(endpoint: AgentEndpoint): AgentSession {
  requireJspi();
  const home: FileDataEntry = { dir: { "config.json": { source: configFor(endpoint) } } };
  let queue: Promise<unknown> = Promise.resolve();

  async function runOnce(args: string[], onStdout?: (text: string) => void): Promise<RunResult> {
    let stdout = "";
    let stderr = "";
    const cli = createCli({
      arguments: ["clawft.wasm", ...args],
      environment: { CLAWFT_HOME: "/home" },
      stdout: textSink((s) => {
        stdout += s;
        if (s) onStdout?.(s);
      }),
      stderr: textSink((s) => (stderr += s)),
    });
    const fs = createFilesystem({ adapter: new InMemoryFilesystemAdapter(), preopens: { "/home": home } });
    // Keyed without versions: jco 1.35's glue reads `imports["wasi:cli/environment"]`, although
    // its ImportObject type names the versioned keys.
    const imports = {
      "wasi:cli/environment": cli.environment,
      "wasi:cli/exit": cli.exit,
      "wasi:cli/stdin": cli.stdin,
      "wasi:cli/stdout": cli.stdout,
      "wasi:cli/stderr": cli.stderr,
      "wasi:cli/terminal-input": cli.terminalInput,
      "wasi:cli/terminal-output": cli.terminalOutput,
      "wasi:cli/terminal-stdin": cli.terminalStdin,
      "wasi:cli/terminal-stdout": cli.terminalStdout,
      "wasi:cli/terminal-stderr": cli.terminalStderr,
      "wasi:clocks/monotonic-clock": monotonicClock,
      "wasi:clocks/wall-clock": wallClock,
      "wasi:filesystem/preopens": fs.preopens,
      "wasi:filesystem/types": fs.types,
      "wasi:http/outgoing-handler": outgoingHandler,
      "wasi:http/types": httpTypes,
      "wasi:io/error": error,
      "wasi:io/poll": poll,
      "wasi:io/streams": streams,
      "wasi:random/random": random,
    } as unknown as ImportObject;
    let code: number;
    try {
      const root = await instantiate(getCoreModule, imports);
      await root.run.run();
      code = 0;
    } catch (e) {
      const c = exitCode(e);
      if (c === undefined) {
        throw new AgentWebError(`clawft.wasm failed in the page: ${e instanceof Error ? e.message : String(e)}${stderr ? `\n${stderr}` : ""}`, { cause: e });
      }
      code = c;
    } finally {
      fs.dispose();
    }
    return { code, stdout, stderr };
  }

  const session: AgentSession = {
    run(args, onStdout) {
      const next = queue.then(() => runOnce(args, onStdout));
      queue = next.catch(() => undefined);
      return next;
    },
    chat: (message, onStdout) => session.run(["chat", "--session", SESSION, message], onStdout),
    audit() {
      const text = session.readFile("workspace/audit.log") ?? "";
      return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as AuditEntry);
    },
    readFile(path) {
      const entry = lookup(home, path);
      if (entry?.source === undefined) return undefined;
      return typeof entry.source === "string" ? entry.source : new TextDecoder().decode(entry.source);
    },
    configure(next) {
      home.dir!["config.json"] = { source: utf8.encode(configFor(next)) };
    },
  };
  return session;
}
