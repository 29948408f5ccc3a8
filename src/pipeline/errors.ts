/**
 * Typed errors of the media pipeline. Every failure a caller may branch on carries a stable
 * `code` (see docs/plugin-protocol.md §4) and, when one node caused it, that node's id.
 * Across a worker or an HTTP API, branch on `code`/`name`, never on `instanceof`.
 * @module
 */

/** Failure codes of a pipeline run (docs/plugin-protocol.md §4). */
export type PipelineErrorCode =
  | "PLUGIN_ERROR"
  | "INTERNAL_PLUGIN_FAILURE"
  | "EARLY_EXIT"
  | "FRAME_TOO_LARGE"
  | "TRUNCATED_FRAME"
  | "PROTOCOL_VIOLATION"
  | "TIMEOUT"
  | "OUTPUT_LIMIT"
  | "INPUT_ERROR"
  | "CANCELLED"
  | "SPAWN_FAILED"
  | "INCOMPATIBLE_PROTOCOL"
  | "UNSUPPORTED_KIND";

/** What a plugin said in its error frame: `{type, message, fatal}`. */
export interface PluginErrorFrame {
  /** Upper-snake-case error type chosen by the plugin, e.g. `INVALID_INPUT`. */
  readonly type: string;
  /** Human-readable explanation. */
  readonly message: string;
  /** True: abort the pipeline; false: keep the output so far and continue. */
  readonly fatal: boolean;
}

/**
 * A pipeline run failed (or a plugin failed during verification). `node` is the id of the
 * orchestration node that caused it; `plugin` the plugin name; `pluginError` the plugin's own
 * error frame when it sent one; `stderr` the tail of its diagnostics.
 */
export class PipelineError extends Error {
  override readonly name: string = "PipelineError";
  readonly code: PipelineErrorCode;
  readonly node: string | undefined;
  readonly plugin: string | undefined;
  readonly pluginError: PluginErrorFrame | undefined;
  readonly stderr: string | undefined;

  constructor(
    code: PipelineErrorCode,
    message: string,
    details: {
      node?: string | undefined;
      plugin?: string | undefined;
      pluginError?: PluginErrorFrame | undefined;
      stderr?: string | undefined;
      cause?: unknown;
    } = {},
  ) {
    super(details.node ? `node "${details.node}": ${message}` : message, { cause: details.cause });
    this.code = code;
    this.node = details.node;
    this.plugin = details.plugin;
    this.pluginError = details.pluginError;
    this.stderr = details.stderr;
  }

  /** A plain JSON shape for APIs and worker messages. */
  toJSON(): { code: PipelineErrorCode; message: string; node?: string; plugin?: string; pluginError?: PluginErrorFrame } {
    return {
      code: this.code,
      message: this.message,
      ...(this.node !== undefined && { node: this.node }),
      ...(this.plugin !== undefined && { plugin: this.plugin }),
      ...(this.pluginError !== undefined && { pluginError: this.pluginError }),
    };
  }
}

/** The frame stream itself is malformed (too long, truncated). `code` says which. */
export class FrameError extends Error {
  override readonly name = "FrameError";
  readonly code: "FRAME_TOO_LARGE" | "TRUNCATED_FRAME";
  constructor(code: "FRAME_TOO_LARGE" | "TRUNCATED_FRAME", message: string) {
    super(message);
    this.code = code;
  }
}

/** One problem found in a `plugin.toml` manifest: the file and the field at fault. */
export interface ManifestIssue {
  /** Dotted path of the field, e.g. `capabilities.input` or `options.rate.default`; "" for the file. */
  readonly path: string;
  readonly message: string;
}

/** A `plugin.toml` could not be parsed or does not follow the manifest schema. */
export class ManifestError extends Error {
  override readonly name = "ManifestError";
  /** The manifest's file path or URL. */
  readonly file: string;
  readonly issues: readonly ManifestIssue[];
  constructor(file: string, issues: readonly ManifestIssue[]) {
    super(`${file}: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ")}`);
    this.file = file;
    this.issues = issues;
  }
}

/** One problem of an orchestration: the node (if any) and what is wrong. */
export interface OrchestrationIssue {
  /** Node id, or undefined for a problem of the whole file. */
  readonly node?: string | undefined;
  readonly code:
    | "PARSE"
    | "SCHEMA"
    | "UNKNOWN_PLUGIN"
    | "BROKEN_MANIFEST"
    | "TYPE_MISMATCH"
    | "INVALID_OPTION"
    | "DUPLICATE_NODE"
    | "UNVERIFIED_PLUGIN"
    | "INCOMPATIBLE_PROTOCOL"
    | "UNSUPPORTED_KIND";
  readonly message: string;
}

/** An orchestration (`.cr`) is malformed or does not type-check against the plugins. */
export class OrchestrationError extends Error {
  override readonly name = "OrchestrationError";
  readonly issues: readonly OrchestrationIssue[];
  constructor(issues: readonly OrchestrationIssue[]) {
    super(issues.map((i) => (i.node ? `node "${i.node}": ${i.message}` : i.message)).join("\n"));
    this.issues = issues;
  }
}

/** A URL plugin failed its integrity checks or could not be unpacked safely. */
export class PluginInstallError extends Error {
  override readonly name = "PluginInstallError";
  readonly code: "DOWNLOAD" | "CHECKSUM" | "SIGNATURE" | "UNSAFE_ARCHIVE" | "MANIFEST" | "VERIFY";
  constructor(code: PluginInstallError["code"], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
