/**
 * The device for bench/device.bench.ts, in its own process: a MiniRouter serving the pty end
 * given as argument, one CLASP session on the line, SLIP-framed (what `clawft.wasm router`
 * does on a device's serial line). Prints `ready` once it reads the line; exits on SIGTERM.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { ReadStream } from "node:tty";
import { codec } from "../src/clasp/index.js";
import { MiniRouter } from "../src/clasp/router.js";
import { RouterHost, type HostPeer } from "../src/relay/host.js";

const path = process.argv[2];
if (!path) throw new Error("usage: device-peer.ts <pty path>");
const fd = openSync(path, "r+");
const host = new RouterHost(await MiniRouter.load({ name: "bench device" }));
const reader = codec.createReader({ framing: "slip" });
const line: HostPeer = {
  send: (frame) => {
    const bytes = codec.wrapFrame(frame, "slip");
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
  },
  close: () => {
    host.detach(conn);
    conn = host.attach(line);
  },
};
let conn = host.attach(line);
const input = new ReadStream(fd);
input.on("data", (chunk: Buffer) => {
  for (const f of reader.push(chunk)) if (f instanceof Uint8Array) host.receive(conn, f);
});
input.on("error", () => process.exit(0)); // the line went away
process.on("SIGTERM", () => {
  input.destroy();
  closeSync(fd);
  process.exit(0);
});
console.log("ready");
