// Entry of the core module inside build/clawft.wasm: the agent as a WASI preview2 command
// component (Wasmtime, jco). Files, clocks, random and stdio come through the preview1
// adapter; HTTP through wasi:http (host/wasi-http.ts).

import { Http } from "./host/http";
import { WasiHttp } from "./host/wasi-http";
import { main } from "./main";

// The canonical ABI allocator, for the host's results and the preview1 adapter's state.
export { cabi_realloc } from "./host/wasi-http";

Http.client = new WasiHttp();
process.exit(main(process.argv));
