/**
 * A server for bench/relay.bench.ts, in its own process: `relay` (the clawft relay, default
 * limits but room for the bench's sessions) or `broadcast` (the same `ws` library, no
 * routing: every binary message is sent to every other client — the transport's limit).
 * Prints `port <n>` when listening; exits on SIGTERM.
 */
import { WebSocketServer, type WebSocket } from "ws";
import { Relay } from "../src/relay/index.js";

const mode = process.argv[2];

if (mode === "relay") {
  const relay = await Relay.start({ port: 0, web: false, router: { maxSessions: 1000 } });
  console.log(`port ${relay.port}`);
  process.on("SIGTERM", () => void relay.close().then(() => process.exit(0)));
} else if (mode === "broadcast") {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false, handleProtocols: (p) => (p.has("clasp") ? "clasp" : false) });
  const clients = new Set<WebSocket>();
  wss.on("connection", (ws) => {
    clients.add(ws);
    ws.on("message", (data, isBinary) => {
      if (!isBinary) return;
      for (const c of clients) if (c !== ws) c.send(data);
    });
    ws.on("close", () => clients.delete(ws));
  });
  await new Promise((r) => wss.once("listening", r));
  console.log(`port ${(wss.address() as { port: number }).port}`);
  process.on("SIGTERM", () => wss.close(() => process.exit(0)));
} else {
  console.error("usage: relay-peer.ts relay|broadcast");
  process.exit(2);
}
