/**
 * HTTP/1.1 over WAMR's socket extension (assembly/agent/host/sockets.ts), through the
 * sockets-probe fixture (test/fixtures/assembly/http-probe.ts built with the socket client) in WAMR, against local servers on
 * 127.0.0.1 that WAMR may reach with `--addr-pool=127.0.0.1/32`: Content-Length, chunked and
 * close-delimited bodies, a streamed body read as it arrives, timeouts, refused and
 * forbidden connections, and servers that do not speak HTTP.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { createServer, type Server, type ServerResponse } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { WASI } from "node:wasi";
import { runWamr, wamrUnavailable } from "../helpers/wamr.js";
import { freePort } from "../helpers/redis.js";

const PROBE = fileURLToPath(new URL("../../build/sockets-probe.wasm", import.meta.url));
const skip = await wamrUnavailable();
const POOL = ["127.0.0.1/32"];

let http: Server;
let raw: TcpServer;
let base = "";
let rawBase = "";
const sockets = new Set<Socket>();
/** The /sse route's next step, run when the probe has printed an event. */
let printed: (() => void) | undefined;
const big = Buffer.alloc(200_000);
for (let i = 0; i < big.length; i++) big[i] = 0x61 + (i % 26);

/** Raw answers of the TCP server, by the request path. */
const RAW: Record<string, string | undefined> = {
  "/until-close": "HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nbody until the server closes",
  "/not-http": "SSH-2.0-OpenSSH_9.2\r\n\r\n",
  "/continue": "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
  "/bad-chunk": "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
  "/gzip": "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
  "/trailers": "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: 1\r\n\r\n",
};

beforeAll(async () => {
  http = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      switch (req.url) {
        case "/len":
          res.writeHead(200, { "content-type": "text/plain", "content-length": "11" }).end("hello world");
          return;
        case "/echo":
          res.writeHead(201, { "content-type": "application/json" });
          res.end(JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, type: req.headers["content-type"], auth: req.headers.authorization, connection: req.headers.connection, body }));
          return;
        case "/sse": {
          // three events, each its own chunk; the next is written only once the probe has
          // printed the previous one, so each read must hand over one event as it arrives
          res.writeHead(200, { "content-type": "text/event-stream" });
          let n = 0;
          const next = () => {
            if (n === 3) return res.end();
            res.write(`data: event ${n++}\n\n`);
            printed = next;
          };
          next();
          return;
        }
        case "/big":
          res.writeHead(200, { "content-type": "application/octet-stream" });
          res.write(big.subarray(0, 100_000));
          setTimeout(() => res.end(big.subarray(100_000)), 20);
          return;
        case "/stall":
          res.writeHead(200, { "content-type": "text/event-stream" });
          res.write("data: first\n\n"); // then nothing more
          return;
        case "/no-answer":
          return; // headers never come
        case "/cut":
          res.writeHead(200, { "content-length": "100" });
          res.write("only ten b");
          setTimeout(() => res.destroy(), 20);
          return;
        case "/empty":
          res.writeHead(204).end();
          return;
        default:
          res.writeHead(404, { "content-type": "text/plain" }).end(`no ${req.url}`);
      }
    });
  });
  http.on("connection", (s) => (sockets.add(s), s.on("close", () => sockets.delete(s))));
  raw = createTcpServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    let head = "";
    s.on("data", (d) => {
      head += d;
      if (!head.includes("\r\n\r\n")) return;
      const path = head.split(" ")[1] ?? "";
      s.end(RAW[path] ?? "HTTP/1.1 500 X\r\ncontent-length: 0\r\n\r\n");
    });
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  await new Promise<void>((r) => raw.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  rawBase = `http://127.0.0.1:${(raw.address() as { port: number }).port}`;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => http.close(r));
  await new Promise((r) => raw.close(r));
});

/** Runs the probe in WAMR; its output lines. */
async function probe(args: string[], o: { addrPool?: string[]; allowResolve?: string[] } = { addrPool: POOL }) {
  const onStdout = (d: Buffer) => {
    if (d.toString().includes("chunk ") && printed) {
      const go = printed;
      printed = undefined;
      go();
    }
  };
  const r = await runWamr(PROBE, args, { ...o, timeoutMs: 30_000, onStdout });
  return { code: r.code, lines: r.stdout.toString().split("\n").filter((l) => l.length > 0), stderr: r.stderr };
}

describe.skipIf(skip)(`HTTP/1.1 over WAMR sockets ${skip ?? ""}`, () => {
  it("reads a Content-Length body, with the status and lower-cased headers", async () => {
    const r = await probe(["GET", `${base}/len`]);
    expect(r.code).toBe(0);
    expect(r.lines[0]).toBe("status 200");
    expect(r.lines).toContain("header content-type: text/plain");
    expect(r.lines).toContain("header content-length: 11");
    expect(r.lines.filter((l) => l.startsWith("chunk")).join("")).toBe("chunk 11: hello world");
    expect(r.lines.at(-1)).toBe("end");
  });

  it("sends the method, Host, the caller's headers, Content-Length and the body", async () => {
    const r = await probe(["POST", `${base}/echo`, '{"q":"€"}', "-H", "content-type: application/json", "-H", "Authorization: Bearer k"]);
    expect(r.code).toBe(0);
    expect(r.lines[0]).toBe("status 201");
    const body = JSON.parse(r.lines.filter((l) => l.startsWith("chunk")).map((l) => l.replace(/^chunk \d+: /, "")).join(""));
    expect(body).toEqual({ method: "POST", url: "/echo", host: new URL(base).host, type: "application/json", auth: "Bearer k", connection: "close", body: '{"q":"€"}' });
  });

  it("streams a chunked event stream: each event is read as it arrives", async () => {
    const r = await probe(["GET", `${base}/sse`]);
    expect(r.code).toBe(0);
    expect(r.lines).toContain("header transfer-encoding: chunked");
    expect(r.lines.filter((l) => l.startsWith("chunk"))).toEqual(["chunk 15: data: event 0", "chunk 15: data: event 1", "chunk 15: data: event 2"]);
    expect(r.lines.at(-1)).toBe("end");
  });

  it("decodes a 200 KB chunked body intact", async () => {
    const r = await probe(["GET", `${base}/big`]);
    expect(r.code).toBe(0);
    const text = r.lines.filter((l) => l.startsWith("chunk")).map((l) => l.replace(/^chunk \d+: /, "")).join("");
    expect(text).toBe(big.toString());
  });

  it("reads chunk extensions and trailers, a body ended by the server closing, and skips 100 Continue", async () => {
    const t = await probe(["GET", `${rawBase}/trailers`]);
    expect(t.lines.filter((l) => l.startsWith("chunk")).map((l) => l.replace(/^chunk \d+: /, "")).join("")).toBe("hello world");
    expect(t.lines.at(-1)).toBe("end");
    const c = await probe(["GET", `${rawBase}/until-close`]);
    expect(c.lines[0]).toBe("status 200");
    expect(c.lines).toContain("chunk 28: body until the server closes");
    expect(c.lines.at(-1)).toBe("end");
    const k = await probe(["GET", `${rawBase}/continue`]);
    expect(k.lines).toEqual(["status 200", "header content-length: 2", "chunk 2: ok", "end"]);
  });

  it("gives no body for 204 and HEAD, and a 404 with its body", async () => {
    expect((await probe(["GET", `${base}/empty`])).lines).toEqual(["status 204", expect.stringMatching(/^header date: /), "header connection: close", "end"]);
    const head = await probe(["HEAD", `${base}/len`]);
    expect(head.lines.filter((l) => l.startsWith("chunk"))).toEqual([]);
    expect(head.lines.at(-1)).toBe("end");
    const missing = await probe(["GET", `${base}/nothing`]);
    expect(missing.lines[0]).toBe("status 404");
    expect(missing.lines).toContain("chunk 11: no /nothing");
  });

  it("times out waiting for the head (timeout) and between body bytes (idle)", async () => {
    const head = await probe(["GET", `${base}/no-answer`, "--timeout", "400"]);
    expect(head.code).toBe(1);
    expect(head.lines).toEqual(["error HE_TIMEOUT no response head within 400 ms"]);
    const idle = await probe(["GET", `${base}/stall`, "--idle", "400"]);
    expect(idle.code).toBe(1);
    expect(idle.lines.slice(-2)).toEqual(["chunk 13: data: first", "error HE_TIMEOUT no body bytes within 400 ms"]);
  });

  it("reports a body cut short, a server that is not HTTP and framing it cannot read as protocol errors", async () => {
    const cut = await probe(["GET", `${base}/cut`]);
    expect(cut.lines.at(-1)).toBe("error HE_PROTOCOL the server closed the connection 90 bytes before the end of the body");
    const ssh = await probe(["GET", `${rawBase}/not-http`]);
    expect(ssh.lines).toEqual(['error HE_PROTOCOL not an HTTP/1.x status line: "SSH-2.0-OpenSSH_9.2"']);
    const chunk = await probe(["GET", `${rawBase}/bad-chunk`]);
    expect(chunk.lines.at(-1)).toBe('error HE_PROTOCOL bad chunk size "zz"');
    const gzip = await probe(["GET", `${rawBase}/gzip`]);
    expect(gzip.lines).toEqual(['error HE_PROTOCOL unsupported transfer-encoding "gzip, chunked" (only chunked)']);
  });

  it("says refused for a closed port, and names --addr-pool when the host forbids the address", async () => {
    const port = await freePort();
    const refused = await probe(["GET", `http://127.0.0.1:${port}/`]);
    expect(refused.lines).toEqual([`error HE_REFUSED connecting to 127.0.0.1:${port}: connection refused`]);
    const forbidden = await probe(["GET", `${base}/len`], {});
    expect(forbidden.code).toBe(1);
    expect(forbidden.lines[0]).toMatch(/^error HE_OTHER connecting to .*: not allowed by the host \(WAMR: add the address to --addr-pool\)$/);
  });

  it("resolves a name through the host only where --allow-resolve allows it", async () => {
    const url = `http://localhost:${new URL(base).port}/len`;
    const denied = await probe(["GET", url], { addrPool: POOL });
    expect(denied.lines[0]).toMatch(/^error HE_DNS cannot resolve localhost: not allowed by the host/);
    const allowed = await probe(["GET", url], { addrPool: POOL, allowResolve: ["localhost"] });
    expect(allowed.lines).toContain("chunk 11: hello world");
  });

  it("refuses https (no TLS on the device build) and URLs that are not http", async () => {
    expect((await probe(["GET", "https://127.0.0.1/"])).lines[0]).toMatch(/^error HE_UNSUPPORTED https is not available/);
    expect((await probe(["GET", "ftp://127.0.0.1/"])).lines[0]).toBe("error HE_URL not an absolute http:// URL: ftp://127.0.0.1/");
    expect((await probe(["GET", "http://127.0.0.1:99999/"])).lines[0]).toBe("error HE_URL bad port in http://127.0.0.1:99999/");
  });
});

describe("why clawft.p1.wasm has no socket client", () => {
  it("node:wasi cannot instantiate a module that imports WAMR's socket extension", async () => {
    const wasi = new WASI({ version: "preview1", args: [], env: { CLAWFT: "1" }, returnOnExit: true });
    const module = await WebAssembly.compile(await readFile(PROBE));
    expect(WebAssembly.Module.imports(module).map((i) => i.name)).toEqual(expect.arrayContaining(["sock_open", "sock_connect", "sock_addr_resolve"]));
    await expect(WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports)).rejects.toThrow(WebAssembly.LinkError);
  });
});
