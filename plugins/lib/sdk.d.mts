// Types of sdk.mjs (a JavaScript plugin SDK for docs/plugin-protocol.md).

/** The handshake frame's JSON. */
export interface Handshake {
  protocol: string;
  input_type: string;
  output_type: string;
  config: Record<string, string | number | boolean>;
  max_frame: number;
}

/** Moves stdin/stdout bytes of one plugin run. */
export interface Transport {
  read(): Promise<Uint8Array | null>;
  write(bytes: Uint8Array): Promise<void>;
  log(text: string): void;
  exit(code: number): Promise<void>;
}

/** What a plugin handler gets. */
export interface PluginContext {
  handshake: Handshake;
  config: Record<string, string | number | boolean>;
  input: AsyncIterable<Uint8Array>;
  write(bytes: Uint8Array): Promise<void>;
  log(text: string): void;
}

/** A failure reported in an error frame `{type, message, fatal}`. */
export class PluginError extends Error {
  constructor(type: string, message: string, fatal?: boolean);
  readonly type: string;
  readonly fatal: boolean;
}

/** Transport over the Node process's stdio. */
export function stdioTransport(): Promise<Transport>;

/** Transport over worker messages; `early` are messages received before it was created. */
export function workerTransport(
  port: { postMessage(m: unknown, t?: Transferable[]): void; addEventListener(t: "message", f: (e: { data: unknown }) => void): void },
  early?: Array<{ data: unknown }>,
): Transport;

/** Runs a plugin: handshake, handler, end frame (or error frame) and exit. */
export function runPlugin(
  transport: Transport | Promise<Transport>,
  handler: (ctx: PluginContext) => Promise<void>,
  types?: { input?: string[]; output?: string[] },
): Promise<void>;
