// Entry of build/clawft.p1.wasm and build/clawft.wamr.wasm: the agent as a WASI preview1
// command. Preview1 has no HTTP. clawft.p1.wasm (node:wasi, any preview1 host) therefore has
// none: `chat` says so. clawft.wamr.wasm, built with `--use CLAWFT_SOCKETS=1`, speaks HTTP/1.1
// over WAMR's socket extension (host/sockets.ts). Two builds rather than one: a module that
// imports sock_open, sock_connect, … cannot even be instantiated by a host without them
// (node:wasi: LinkError), so only the WAMR build imports them.

import { Http, NoHttp } from "./host/http";
import { SocketHttp } from "./host/sockets";
import { main } from "./main";

// @ts-ignore: CLAWFT_SOCKETS is defined by asc --use (scripts/cores.mjs, clawft.wamr)
if (isDefined(CLAWFT_SOCKETS)) Http.client = new SocketHttp();
else Http.client = new NoHttp("this host has no HTTP: WASI preview1 has none (run build/clawft.wamr.wasm in WAMR with --addr-pool, or build/clawft.wasm in a wasi:http host)");
process.exit(main(process.argv));
