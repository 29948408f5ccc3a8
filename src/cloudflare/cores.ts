/**
 * The core modules of a room, imported as modules (workerd forbids compiling wasm from bytes,
 * and has no file system or global-scope fetch to load them from): the bundler keeps each
 * `.wasm` as a module of its own (wrangler's default rule for `*.wasm`). The codec module is
 * handed to the loader here, before `clawft/clasp`'s shared codec is evaluated: this file is
 * the first import of the package's Cloudflare face.
 * @module
 */
import { provideCore } from "../core/loader.js";
import claspWasm from "../../build/clasp.wasm";
import routerWasm from "../../build/router.wasm";

provideCore("clasp.wasm", claspWasm);

/** The MiniRouter core (`build/router.wasm`), for `MiniRouter.load(config, routerModule)`. */
export const routerModule: WebAssembly.Module = routerWasm;
