/**
 * Loads the cores' WebAssembly modules in every host: Node (file URLs), browsers and Workers
 * (fetch), and hosts that forbid compiling from bytes (Cloudflare workerd), which pass the
 * `WebAssembly.Module` they imported. Each module is compiled once per URL and cached.
 * @module
 */

/**
 * Where a core's wasm comes from: a compiled module (workerd: `import m from "./clasp.wasm"`),
 * its bytes, a URL or path to fetch/read, or a fetch `Response`.
 */
export type WasmSource =
  | WebAssembly.Module
  | ArrayBuffer
  | ArrayBufferView
  | URL
  | string
  | Response
  | PromiseLike<Response>;

/** What every core exports: its linear memory. */
export interface CoreExports {
  readonly memory: WebAssembly.Memory;
}

const compiled = new Map<string, Promise<WebAssembly.Module>>();

/** True in Node.js (and Node-compatible hosts such as Deno and Bun). */
const isNode = typeof process !== "undefined" && !!process.versions?.node;

/**
 * The build a face loads: `build/` (release) unless `CLAWFT_WASM=debug` is set in Node,
 * which selects `build/debug/` (assertions and names, for tests).
 */
function variant(url: URL): URL {
  if (isNode && process.env.CLAWFT_WASM === "debug") {
    return new URL(url.href.replace(/\/build\/(?!debug\/)/, "/build/debug/"));
  }
  return url;
}

async function fromResponse(res: Response): Promise<WebAssembly.Module> {
  if (!res.ok) throw new Error(`fetching ${res.url} failed: HTTP ${res.status}`);
  // instantiateStreaming needs the application/wasm content type; fall back to bytes.
  if (res.headers.get("content-type")?.startsWith("application/wasm")) {
    return WebAssembly.compileStreaming(res);
  }
  return WebAssembly.compile(await res.arrayBuffer());
}

async function fromUrl(url: URL): Promise<WebAssembly.Module> {
  if (url.protocol === "file:" && isNode) {
    const { readFile } = await import("node:fs/promises");
    return WebAssembly.compile(await readFile(url));
  }
  return fromResponse(await fetch(url));
}

async function compileSource(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof URL) return fromUrl(source);
  if (typeof source === "string") return fromUrl(new URL(source, isNode ? `file://${process.cwd()}/` : location.href));
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return WebAssembly.compile(source as BufferSource);
  return fromResponse(await source);
}

/** Core modules a host handed over by file name (see {@link provideCore}). */
const provided = new Map<string, WebAssembly.Module>();

/**
 * Hands over a compiled core module by its file name (e.g. `"clasp.wasm"`), for hosts that can
 * neither fetch nor compile wasm from bytes (Cloudflare workerd imports it as a module): a face
 * that loads that core without a `source` at module evaluation (`clawft/clasp`'s shared codec)
 * uses it. Call it before importing such a face (clawft/cloudflare does, from its first import).
 */
export function provideCore(name: string, module: WebAssembly.Module): void {
  provided.set(name, module);
}

/** The module handed over for `name` by {@link provideCore}, if any. */
export function providedCore(name: string): WebAssembly.Module | undefined {
  return provided.get(name);
}

/**
 * Where a face's core lives by default: a URL, or a function returning one — the function
 * form defers `new URL(…, import.meta.url)`, which hosts without a usable `import.meta.url`
 * (Cloudflare workerd) cannot evaluate, to when no `source` is given.
 */
export type CoreLocation = URL | (() => URL);

/**
 * Compiles the core module at `url` (once; later calls share the result), or `source` when
 * given.
 * @param url default location of the module, e.g. `() => new URL("../../build/clasp.wasm", import.meta.url)`
 * @param source overrides where the module comes from (required on workerd)
 * @throws Error when the file cannot be read or fetched, or is not valid WebAssembly
 */
export function compileCore(url: CoreLocation, source?: WasmSource): Promise<WebAssembly.Module> {
  if (source !== undefined) return compileSource(source);
  const at = variant(typeof url === "function" ? url() : url);
  let module = compiled.get(at.href);
  if (!module) {
    module = fromUrl(at);
    compiled.set(at.href, module);
    module.catch(() => compiled.delete(at.href));
  }
  return module;
}

/**
 * Instantiates a core: compiles it (see {@link compileCore}) and returns its exports.
 * @param imports import object; the cores need none unless documented otherwise
 */
export async function instantiateCore<T extends CoreExports>(
  url: CoreLocation,
  source?: WasmSource,
  imports: WebAssembly.Imports = {},
): Promise<T> {
  const module = await compileCore(url, source);
  const instance = await WebAssembly.instantiate(module, imports);
  return instance.exports as unknown as T;
}
