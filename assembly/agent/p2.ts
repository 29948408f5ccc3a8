// Entry of the core module inside build/clawft.wasm: the agent as a WASI preview2 command
// component (Wasmtime, jco). Files, clocks, random and stdio come through the preview1
// adapter; HTTP through wasi:http (host/wasi-http.ts).

import { Http, NoHttp } from "./host/http";
import { main } from "./main";

Http.client = new NoHttp("wasi:http is not wired yet");
process.exit(main(process.argv));
