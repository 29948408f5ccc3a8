// Entry of build/clawft.p1.wasm: the agent as a WASI preview1 command (WAMR, node:wasi).
// Preview1 has no HTTP: `chat` needs a host with sockets (docs/agent.md).

import { Http, NoHttp } from "./host/http";
import { main } from "./main";

Http.client = new NoHttp("this host has no HTTP: WASI preview1 has none (run build/clawft.wasm in a wasi:http host)");
process.exit(main(process.argv));
