// relay.toml, environment and flags; tokens and scopes enforced for a real client.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { Relay, RelayConfigError, applyEnv, applyToml, defaultConfig, openStorage, parsePort } from "../../src/relay/index.js";
import { checkConfig } from "../../src/relay/config.js";
import { ROOT, RawClient, spawnRelay, startRelay } from "./helpers.js";

const EXAMPLE = `
host = "0.0.0.0"
port = 7444
name = "stage relay"
storage = "fs:/var/lib/clawft"

[limits]
max_sessions = 50
max_subscriptions_per_session = 100
max_state_entries = 10000
max_message_size = 32768
max_queue_per_session = 500
max_queue_bytes = 8388608
state_ttl = 3600
session_timeout = 300
hello_timeout = 5
ping_interval = 15
send_buffer_bytes = 131072

[[tokens]]
token = "desk-secret"
read = ["/**"]
write = ["/mixer/**", "/cue/**"]

[[tokens]]
token = "viewer-secret"
read = ["/mixer/**"]
write = []
`;

describe("relay.toml", () => {
  it("reads every documented key", () => {
    const c = applyToml(defaultConfig(), EXAMPLE);
    expect(c).toEqual({
      host: "0.0.0.0",
      port: 7444,
      storage: "fs:/var/lib/clawft",
      sendBufferBytes: 131072,
      maxQueueBytes: 8388608,
      helloTimeout: 5,
      pingInterval: 15,
      router: {
        name: "stage relay",
        maxSessions: 50,
        maxSubscriptionsPerSession: 100,
        maxStateEntries: 10000,
        maxMessageSize: 32768,
        maxQueuePerSession: 500,
        stateTtl: 3600,
        sessionTimeout: 300,
        security: "authenticated", // tokens configured, no explicit mode
        tokens: [
          { token: "desk-secret", read: ["/**"], write: ["/mixer/**", "/cue/**"] },
          { token: "viewer-secret", read: ["/mixer/**"], write: [] },
        ],
      },
    });
    expect(applyToml(defaultConfig(), `security = "open"\n[[tokens]]\ntoken = "t"`).router.security).toBe("open");
  });

  it("rejects syntax errors, unknown keys and wrong types with the place named", () => {
    const bad: Array<[string, RegExp]> = [
      ["port = ", /relay\.toml:1:\d+/],
      ["prot = 1", /unknown key "prot"/],
      ["port = 70000", /port: must be an integer in \[0, 65535\]/],
      ["port = \"80\"", /port: must be an integer/],
      ["[limits]\nmax_sessions = -1", /limits\.max_sessions/],
      ["[limits]\nmax_session = 1", /unknown key "max_session"/],
      ['security = "closed"', /security: must be "open" or "authenticated"/],
      ["[[tokens]]\nread = [\"/**\"]", /tokens\[0\]\.token: must be a non-empty string/],
      ["[[tokens]]\ntoken = \"t\"\nread = \"/**\"", /tokens\[0\]\.read: must be an array/],
    ];
    for (const [text, message] of bad) {
      expect(() => applyToml(defaultConfig(), text), text).toThrow(RelayConfigError);
      expect(() => applyToml(defaultConfig(), text), text).toThrow(message);
    }
  });

  it("takes CLAWFT_RELAY_HOST/PORT from the environment", () => {
    expect(applyEnv(defaultConfig(), { CLAWFT_RELAY_HOST: "::1", CLAWFT_RELAY_PORT: "9000" })).toMatchObject({ host: "::1", port: 9000 });
    expect(() => applyEnv(defaultConfig(), { CLAWFT_RELAY_PORT: "nine" })).toThrow(/CLAWFT_RELAY_PORT/);
    expect(() => parsePort("", "--port")).toThrow(RelayConfigError);
    expect(() => parsePort("abc", "--port")).toThrow('--port: must be a port number in [0, 65535], got "abc"');
    expect(() => parsePort("1e3", "--port")).toThrow(RelayConfigError);
    expect(parsePort(" 8080 ", "--port")).toBe(8080);
  });

  it("refuses, naming the key, a configuration that makes the relay useless", async () => {
    const useless: Array<[string, RegExp]> = [
      ["max_sessions = 0", /^limits\.max_sessions \(maxSessions\): must be an integer of at least 1 \(no client could connect\), got 0$/],
      ["max_message_size = 0", /^limits\.max_message_size \(maxMessageSize\): must be .*at least 64 \(not even a HELLO would fit\), got 0$/],
      ["max_subscriptions_per_session = 0", /limits\.max_subscriptions_per_session/],
      ["max_queue_per_session = 0", /limits\.max_queue_per_session/],
      ["max_queue_bytes = 0", /limits\.max_queue_bytes/],
      ["send_buffer_bytes = 0", /limits\.send_buffer_bytes \(sendBufferBytes\): .*no frame could be sent/],
    ];
    for (const [line, message] of useless) {
      const config = applyToml(defaultConfig(), `[limits]\n${line}`);
      expect(() => checkConfig(config), line).toThrow(RelayConfigError);
      expect(() => checkConfig(config), line).toThrow(message);
    }
    expect(() => checkConfig(defaultConfig())).not.toThrow();
    // Relay.start refuses the same before it opens anything.
    await expect(Relay.start({ port: 0, web: false, router: { maxSessions: 0 } })).rejects.toThrow(/limits\.max_sessions \(maxSessions\)/);
    await expect(Relay.start({ port: 0, web: false, helloTimeout: -1 })).rejects.toThrow(/limits\.hello_timeout/);
  });

  it("refuses an unknown storage spec", async () => {
    await expect(openStorage("s3://bucket")).rejects.toThrow(/storage must be/);
    await expect(openStorage("fs:")).rejects.toThrow(RelayConfigError);
  });
});

describe("authenticated relay", () => {
  it("refuses a client without a valid token and enforces read/write scopes", async () => {
    (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
    const { Clasp } = await import("@clasp-to/core");
    const config = applyToml(defaultConfig(), EXAMPLE);
    const relay = await startRelay({ router: config.router });
    const quiet = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const anonymous = new Clasp(relay.url, { reconnect: false, connectionTimeout: 3000 });
      await expect(anonymous.connect()).rejects.toThrow();
      const wrong = await RawClient.open(relay.url);
      wrong.send({ type: "HELLO", version: 1, name: "x", features: [], token: "guess" });
      const e = await wrong.next("ERROR");
      expect(e.code).toBe(300);
      expect((await wrong.closed).code).toBe(1008);

      const desk = await RawClient.hello(relay.url, "desk-secret");
      const viewer = await RawClient.hello(relay.url, "viewer-secret");
      viewer.send({ type: "SUBSCRIBE", id: 1, pattern: "/mixer/**" });
      viewer.send({ type: "SUBSCRIBE", id: 2, pattern: "/cue/**" }); // wildcards: accepted, filtered per delivery
      viewer.send({ type: "SUBSCRIBE", id: 3, pattern: "/cue/go" }); // a literal address outside its read scope
      expect(await viewer.next("ERROR")).toMatchObject({ code: 301, address: "/cue/go" });
      desk.send({ type: "SET", address: "/mixer/1", value: 1 });
      desk.send({ type: "SET", address: "/lights/1", value: 1 });
      expect((await desk.next("ACK")).address).toBe("/mixer/1");
      expect(await desk.next("ERROR")).toMatchObject({ code: 301, address: "/lights/1" });
      desk.send({ type: "SET", address: "/cue/go", value: 1 });
      expect((await desk.next("ACK")).address).toBe("/cue/go");
      expect((await viewer.next("SET")).address).toBe("/mixer/1");
      viewer.send({ type: "SET", address: "/mixer/1", value: 2 });
      expect((await viewer.next("ERROR")).code).toBe(301); // read-only token
      expect(viewer.of("SET").map((m) => m.address)).toEqual(["/mixer/1"]); // /cue/go was filtered
      desk.close();
      viewer.close();
    } finally {
      quiet.mockRestore();
      await relay.close();
    }
  });
});

describe("clawft relay command", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("reads --config, takes CLAWFT_RELAY_PORT, prints the URLs and serves", async () => {
    const dir = await mkdtemp(join(tmpdir(), "clawft-relay-cfg-"));
    dirs.push(dir);
    const file = join(dir, "relay.toml");
    await writeFile(file, `port = 1\nname = "from toml"\nstorage = "fs:${join(dir, "state")}"\n`);
    const relay = await spawnRelay(["--config", file, "--no-web"], { CLAWFT_RELAY_PORT: "0" });
    expect(relay.out.join("\n")).toMatch(/playground: http:\/\/127\.0\.0\.1:\d+\/ {3}metrics: http:\/\/127\.0\.0\.1:\d+\/metrics/);
    const c = await RawClient.open(relay.url);
    c.send({ type: "HELLO", version: 1, name: "x", features: [] });
    expect((await c.next("WELCOME")).name).toBe("from toml");
    relay.proc.kill("SIGINT");
    expect((await c.closed).code).toBe(1001);
    expect((await relay.exited)[0]).toBe(0);
  });

  it("exits 1 with a one-line message for a bad configuration", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--storage", "s3://nope"], /^clawft relay: storage must be "memory", "fs:<dir>", a redis:\/\/ or a postgres:\/\/ URL, got "s3:\/\/nope"$/],
      [["--port", "abc"], /^clawft relay: --port: must be a port number in \[0, 65535\], got "abc"$/],
      // printed once (ws re-emits the listen error; only Relay.start's rejection is reported)
      [["--host", "256.1.1.1", "--port", "0"], /^clawft relay: getaddrinfo \w+ 256\.1\.1\.1$/],
      // Node's recursive mkdir spins forever on ENOENT under /proc: this must fail, not hang
      [["--storage", "fs:/proc/clawft-no-such-dir/state", "--port", "0"], /^clawft relay: ENOENT: no such file or directory, mkdir '\/proc\/clawft-no-such-dir'$/],
    ];
    const results = await Promise.all(
      cases.map(async ([args]) => {
        const proc = spawn(process.execPath, ["--import", "tsx", "src/cli/index.ts", "relay", "--no-web", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
        let err = "";
        proc.stderr.on("data", (d: Buffer) => (err += d.toString()));
        const hang = setTimeout(() => proc.kill("SIGKILL"), 20_000);
        const code = await new Promise((r) => proc.on("exit", r));
        clearTimeout(hang);
        return { code, err };
      }),
    );
    for (const [i, [args, message]] of cases.entries()) {
      expect(results[i], args.join(" ")).toMatchObject({ code: 1 });
      expect(results[i]!.err.trim(), args.join(" ")).toMatch(message);
    }
  }, 60_000);
});
