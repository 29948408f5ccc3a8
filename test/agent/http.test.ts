/**
 * clawft.wasm's HTTP layer on its own (assembly/agent/host/wasi-http.ts over wasi:http), in
 * every host: the http-probe fixture (test/fixtures/assembly/http-probe.ts, built like clawft.wasm)
 * makes one request to a local node:http server and prints status, headers, each body chunk
 * as it arrives, and the HE_ error kind of a failure. A host that cannot run here is skipped
 * with its reason.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { agentUnavailable, runAgent, type AgentHost, type AgentRun } from "../helpers/agent.js";
import { freePort } from "../helpers/redis.js";

const HOSTS: AgentHost[] = ["wasmtime", "node", "wasmtime-cli"];

/** What the server saw of the last request to /echo. */
interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let server: Server;
let base: string;
const sockets = new Set<Socket>();

/** Routes: /echo (request as JSON), /chunks (three pieces, 300 ms apart), /status/N, /stall, /never. */
function route(req: IncomingMessage, res: ServerResponse, body: string): void {
  const url = req.url ?? "/";
  if (url.startsWith("/echo")) {
    const seen: Seen = { method: req.method ?? "", url, headers: req.headers, body };
    res.writeHead(200, { "content-type": "application/json", "X-Echo-Method": req.method ?? "" });
    res.end(JSON.stringify(seen));
  } else if (url === "/chunks") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.write("one");
    setTimeout(() => {
      res.write("two");
      setTimeout(() => res.end("three"), 300);
    }, 300);
  } else if (url.startsWith("/status/")) {
    const status = Number(url.slice("/status/".length));
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(`status ${status} body`);
  } else if (url === "/stall") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.write("first"); // and nothing more
  }
  // /never: no answer at all
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (b: Buffer) => parts.push(b));
    req.on("end", () => route(req, res, Buffer.concat(parts).toString()));
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((done) => server.close(done));
});

/** The probe's output parsed: status, headers (name → value), chunks, error line, `end` seen. */
function parse(r: AgentRun) {
  const lines = r.stdout.split("\n").filter(Boolean);
  const headers: Record<string, string> = {};
  const chunks: string[] = [];
  let status = 0;
  let error = "";
  let end = false;
  for (const line of lines) {
    let m: RegExpExecArray | null;
    if ((m = /^status (\d+)$/.exec(line))) status = Number(m[1]);
    else if ((m = /^header ([^:]+): (.*)$/.exec(line))) headers[m[1]!] = m[2]!;
    else if ((m = /^chunk (\d+): (.*)$/.exec(line))) {
      expect(Buffer.byteLength(m[2]!)).toBe(Number(m[1]));
      chunks.push(m[2]!);
    } else if (line.startsWith("error ")) error = line.slice("error ".length);
    else if (line === "end") end = true;
    else throw new Error(`unexpected probe output: ${line}`);
  }
  return { status, headers, chunks, body: chunks.join(""), error, end };
}

for (const host of HOSTS) {
  describe(`wasi:http client in ${host}`, async () => {
    const why = await agentUnavailable(host, "http-probe");
    const test = (name: string, fn: () => Promise<void>) => it.skipIf(why)(why ? `${name} (${why})` : name, fn, 30_000);
    const probe = (...args: string[]) => runAgent(host, args, { home: tmpdir(), artifact: "http-probe" });

    test("GET sends the request's headers and reads status, headers (lower case) and body", async () => {
      const r = await probe("GET", `${base}/echo?q=1&r=two`, "-H", "X-Test: yes", "-H", "Accept: application/json");
      expect(r).toMatchObject({ code: 0, stderr: "" });
      const p = parse(r);
      expect(p).toMatchObject({ status: 200, end: true, error: "" });
      expect(p.headers["content-type"]).toBe("application/json");
      expect(p.headers["x-echo-method"]).toBe("GET");
      const seen = JSON.parse(p.body) as Seen;
      expect(seen).toMatchObject({ method: "GET", url: "/echo?q=1&r=two", body: "" });
      expect(seen.headers).toMatchObject({ "x-test": "yes", accept: "application/json" });
    });

    test("POST sends a body of several 4096-byte pieces whole, with its content-length", async () => {
      const body = Array.from({ length: 1500 }, (_, i) => (i % 10).toString()).join("").repeat(7); // 10,500 bytes
      const r = await probe("POST", `${base}/echo`, body, "-H", "Content-Type: text/plain");
      expect(r.code).toBe(0);
      const seen = JSON.parse(parse(r).body) as Seen;
      expect(seen.method).toBe("POST");
      expect(seen.headers["content-length"]).toBe(String(body.length));
      expect(seen.headers["content-type"]).toBe("text/plain");
      expect(seen.body).toBe(body);
    });

    test("PATCH goes out with its method", async () => {
      const r = await probe("PATCH", `${base}/echo`, "{}");
      expect((JSON.parse(parse(r).body) as Seen).method).toBe("PATCH");
    });

    test("a streamed (chunked) body arrives in pieces, in order", async () => {
      const p = parse(await probe("GET", `${base}/chunks`));
      expect(p).toMatchObject({ status: 200, end: true, body: "onetwothree" });
      // The server waits 300 ms after "one": it cannot have come together with "three".
      expect(p.chunks.length).toBeGreaterThan(1);
      expect(p.chunks[0]).toBe("one");
    });

    for (const status of [404, 500]) {
      test(`status ${status} is a response, not a failure`, async () => {
        const r = await probe("GET", `${base}/status/${status}`);
        expect(r.code).toBe(0);
        expect(parse(r)).toMatchObject({ status, body: `status ${status} body`, end: true, error: "" });
      });
    }

    test("a refused connection is HE_REFUSED", async () => {
      const port = await freePort();
      const r = await probe("GET", `http://127.0.0.1:${port}/`, "--timeout", "5000");
      expect(r.code).toBe(1);
      expect(parse(r).error).toMatch(/^HE_REFUSED /);
    });

    test("headers then a stalled body is HE_TIMEOUT after the idle limit, the first chunk kept", async () => {
      const r = await probe("GET", `${base}/stall`, "--idle", "400", "--timeout", "5000");
      expect(r.code).toBe(1);
      const p = parse(r);
      expect(p).toMatchObject({ status: 200, chunks: ["first"], end: false });
      expect(p.error).toMatch(/^HE_TIMEOUT no body bytes within 400 ms/);
    });

    test("a server that never answers is HE_TIMEOUT after the request timeout", async () => {
      const r = await probe("GET", `${base}/never`, "--timeout", "400");
      expect(r.code).toBe(1);
      expect(parse(r)).toMatchObject({ status: 0, error: "HE_TIMEOUT no response within 400 ms" });
    });

    test("a URL that is not absolute http(s) is HE_URL", async () => {
      const r = await probe("GET", "ftp://127.0.0.1/x");
      expect(r.code).toBe(1);
      expect(parse(r).error).toMatch(/^HE_URL /);
    });
  });
}
