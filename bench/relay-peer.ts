/**
 * A server for bench/relay.bench.ts, in its own process: `relay` (the clawft relay, default
 * limits but room for the bench's sessions), `broadcast` (the same `ws` library, no routing:
 * every binary message is sent to every other client, one socket write per frame) or
 * `broadcast-batched` (the same, with the relay's write batching: each socket corked until
 * the next tick, so a turn's frames leave in one write — the transport's limit).
 * `relay` takes the most sessions as a second argument (default 1000).
 * Prints `port <n>` when listening; answers a `stats` line on stdin with `stats <rss bytes>
 * <cpu µs, user + system>`; exits on SIGTERM.
 */
import { createInterface } from "node:readline";
import type { Socket } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { Relay } from "../src/relay/index.js";

const mode = process.argv[2];

createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim() !== "stats") return;
  const cpu = process.cpuUsage();
  console.log(`stats ${process.memoryUsage().rss} ${cpu.user + cpu.system}`);
});

if (mode === "relay") {
  const relay = await Relay.start({ port: 0, web: false, router: { maxSessions: Number(process.argv[3] ?? 1000) } });
  console.log(`port ${relay.port}`);
  process.on("SIGTERM", () => void relay.close().then(() => process.exit(0)));
} else if (mode === "broadcast" || mode === "broadcast-batched") {
  const batched = mode === "broadcast-batched";
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false, handleProtocols: (p) => (p.has("clasp") ? "clasp" : false) });
  const clients = new Map<WebSocket, Socket>();
  let corked: Socket[] = [];
  const uncork = () => {
    for (const s of corked) s.uncork();
    corked = [];
  };
  wss.on("connection", (ws, req) => {
    clients.set(ws, req.socket);
    ws.on("message", (data, isBinary) => {
      if (!isBinary) return;
      for (const [c, socket] of clients) {
        if (c === ws) continue;
        if (batched && !socket.writableCorked) {
          socket.cork();
          if (corked.push(socket) === 1) process.nextTick(uncork);
        }
        c.send(data);
      }
    });
    ws.on("close", () => clients.delete(ws));
  });
  await new Promise((r) => wss.once("listening", r));
  console.log(`port ${(wss.address() as { port: number }).port}`);
  process.on("SIGTERM", () => wss.close(() => process.exit(0)));
} else {
  console.error("usage: relay-peer.ts relay|broadcast|broadcast-batched");
  process.exit(2);
}
