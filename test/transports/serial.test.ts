// The Node serial transport over a real pseudo-terminal pair (socat): SLIP frames both ways,
// resync after line faults with the loss counted, typed errors for each failure, and a
// SerialDevice that reconnects with backoff when the device goes away and comes back, its
// state back from the device's router.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { codec, encode, decode, type Message } from "../../src/clasp/index.js";
import { SerialDevice, SerialError, SerialTransport, backoffDelay } from "../../src/transports/serial.js";
import { FakeDevice, MemoryStorage, NO_SOCAT, PtyEnd, PtyPair, until } from "./helpers.js";

const slip = (m: Message) => codec.wrapFrame(encode(m), "slip");

describe("backoffDelay", () => {
  it("doubles from delayMs up to maxDelayMs", () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a))).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000]);
    expect([0, 1, 2].map((a) => backoffDelay(a, { delayMs: 10, factor: 3, maxDelayMs: 50 }))).toEqual([10, 30, 50]);
  });
});

describe("SerialTransport options", () => {
  it("refuses a baud rate that is not a positive integer", () => {
    expect(() => new SerialTransport({ path: "/dev/null", baudRate: 0 })).toThrow(RangeError);
    expect(() => new SerialTransport({ path: "/dev/null", baudRate: 9600.5 })).toThrow(RangeError);
    expect(() => new SerialDevice({ path: "/dev/null", maxFrameSize: 2 })).toThrow(RangeError);
  });

  it("cannot send before it is open", () => {
    const t = new SerialTransport({ path: "/dev/null" });
    expect(() => t.send(encode({ type: "PING" }))).toThrow(expect.objectContaining({ name: "SerialError", kind: "not-open" }));
  });
});

describe.skipIf(NO_SOCAT)(`SerialTransport over a socat pty pair${NO_SOCAT ? ` (${NO_SOCAT})` : ""}`, () => {
  let pair: PtyPair;
  beforeEach(async () => {
    pair = await PtyPair.create();
  });
  afterEach(async () => {
    await pair.close();
  });

  it("carries frames both ways, SLIP-framed on the line", async () => {
    const device = new PtyEnd(pair.b);
    const got: Uint8Array[] = [];
    const t = new SerialTransport({ path: pair.a, baudRate: 921600 });
    await t.open({ frame: (f) => got.push(f), close: () => {} });
    const set = encode({ type: "SET", address: "/led", value: 0xc0 }); // a value byte that needs escaping
    t.send(set);
    t.send(encode({ type: "PING" }));
    const expected = [...codec.wrapFrame(set, "slip"), ...codec.wrapFrame(encode({ type: "PING" }), "slip")];
    await until(() => device.bytes().length >= expected.length, 5000, "the device to read both frames");
    expect([...device.bytes()]).toEqual(expected);

    device.write(slip({ type: "PONG" }));
    device.write(slip({ type: "SET", address: "/knob", value: 0.25 }));
    await until(() => got.length === 2, 5000, "two frames from the device");
    expect(got.map((f) => decode(f).message)).toEqual([{ type: "PONG" }, { type: "SET", address: "/knob", value: 0.25 }]);
    expect(t.stats).toMatchObject({ framesIn: 2, framesOut: 2, bytesOut: expected.length, bytesLost: 0, packetsLost: 0 });
    t.close();
    device.close();
  });

  it("resyncs after noise, a frame cut short and an oversized frame; counts the loss; the session goes on", async () => {
    const device = new PtyEnd(pair.b);
    const got: Message[] = [];
    const noise: string[] = [];
    const t = new SerialTransport({ path: pair.a, maxFrameSize: 256, onNoise: (e) => noise.push(e.reason) });
    await t.open({ frame: (f) => got.push(decode(f).message), close: () => {} });
    const cut = slip({ type: "SET", address: "/cut", value: "short" });
    const big = slip({ type: "SET", address: "/big", value: "x".repeat(400) });
    const lineNoise = new Uint8Array([0x00, 0xff, 0x13, 0x37, 0x55]);
    device.write(lineNoise); // bytes before any frame (a boot banner, a glitch)
    device.write(slip({ type: "SET", address: "/a", value: 1 }));
    device.write(cut.subarray(0, 9)); // the device reset mid-frame …
    device.write(slip({ type: "SET", address: "/b", value: 2 })); // … and its next frame starts with END
    device.write(big);
    device.write(slip({ type: "SET", address: "/c", value: 3 }));
    await until(() => got.length === 3, 5000, "the three whole frames");
    expect(got.map((m) => (m as { address: string }).address)).toEqual(["/a", "/b", "/c"]);
    expect(noise).toEqual([expect.stringMatching(/magic/), expect.stringMatching(/past the end/), expect.stringMatching(/maximum size/)]);
    expect(t.stats.packetsLost).toBe(3);
    expect(t.stats.bytesLost).toBe(lineNoise.length + (9 - 1) + (big.length - 2));
    t.close();
    device.close();
  });

  it("types each open failure", async () => {
    const open = (path: string) => new SerialTransport({ path }).open({ frame: () => {}, close: () => {} });
    await expect(open(`${pair.dir}/nothing-here`)).rejects.toMatchObject({ name: "SerialError", kind: "not-found" });
    const first = new SerialTransport({ path: pair.a });
    await first.open({ frame: () => {}, close: () => {} });
    await expect(open(pair.a)).rejects.toMatchObject({ kind: "busy" }); // the first holds the port's lock
    first.close();
    await expect(open("/etc/hostname")).rejects.toMatchObject({ kind: "open" }); // not a terminal
    const err = await open(`${pair.dir}/nothing-here`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SerialError);
  });

  it("closes with 1006 and a `gone` error when the port vanishes", async () => {
    const closed: Array<{ code: number; reason: string }> = [];
    const t = new SerialTransport({ path: pair.a });
    await t.open({ frame: () => {}, close: (info) => closed.push(info) });
    await pair.down();
    await until(() => closed.length === 1, 5000, "the close");
    expect(closed[0]!.code).toBe(1006);
    expect(t.error).toMatchObject({ kind: "gone" });
    expect(() => t.send(encode({ type: "PING" }))).toThrow(expect.objectContaining({ kind: "not-open" }));
    t.close(); // a no-op now
    expect(closed).toHaveLength(1);
  });

  it("closes once, with the code given", async () => {
    const closed: Array<{ code: number; reason: string }> = [];
    const t = new SerialTransport({ path: pair.a });
    await t.open({ frame: () => {}, close: (info) => closed.push(info) });
    t.close(4000, "done");
    t.close();
    expect(closed).toEqual([{ code: 4000, reason: "done" }]);
    await expect(t.open({ frame: () => {}, close: () => {} })).rejects.toThrow(/already opened/);
  });
});

describe.skipIf(NO_SOCAT)(`SerialDevice: a router on the line, kept attached${NO_SOCAT ? ` (${NO_SOCAT})` : ""}`, () => {
  let pair: PtyPair;
  let storage: MemoryStorage;
  let device: FakeDevice | undefined;
  beforeEach(async () => {
    pair = await PtyPair.create();
    storage = new MemoryStorage();
  });
  afterEach(async () => {
    await device?.shutdown();
    device = undefined;
    await pair.close();
  });

  it("talks CLASP to the device, and after the device vanished and came back has its state again", async () => {
    device = await FakeDevice.boot(pair.b, storage);
    device.set("/sensor/temp", 21.5);
    const events: string[] = [];
    const serial = new SerialDevice({
      path: pair.a,
      baudRate: 115200,
      backoff: { delayMs: 20, maxDelayMs: 200 },
      onUp: () => events.push("up"),
      onDown: (_, error) => events.push(`down ${error?.kind ?? ""}`),
      onRetry: (error) => events.push(`retry ${(error as SerialError).kind ?? error.name}`),
    });
    const seen = new Map<string, unknown>();
    serial.client.on("/**", (value, address) => seen.set(address, value));
    serial.start();
    await until(() => serial.connected && seen.get("/sensor/temp") === 21.5, 10_000, "the session and the device's snapshot");
    expect(serial.client.welcome?.name).toBe("fake device");

    // Both ways: the client sets a param on the device; the device's app sets one.
    expect(await serial.client.set("/led/1", 1)).toBeGreaterThan(0);
    device.set("/sensor/temp", 22);
    await until(() => seen.get("/sensor/temp") === 22, 5000, "the device's own SET");

    // The device goes away (port gone), reboots with its state, and comes back.
    await device.shutdown();
    device = undefined;
    await pair.down();
    await until(() => events.includes("down gone"), 5000, "the session to end");
    expect(serial.connected).toBe(false);
    await until(() => events.some((e) => e.startsWith("retry not-found")), 5000, "a failed attempt while the port is missing");
    await pair.up();
    device = await FakeDevice.boot(pair.b, storage);
    seen.clear();
    await until(() => serial.connected && seen.size >= 2, 10_000, "the new session and its snapshot");
    expect(seen.get("/led/1")).toBe(1);
    expect(seen.get("/sensor/temp")).toBe(22);
    expect(events.filter((e) => e === "up")).toHaveLength(2);
    expect(serial.stats.framesIn).toBeGreaterThan(4);
    await serial.close();
    expect(serial.connected).toBe(false);
  });

  it("starts before the device exists and attaches once it appears", async () => {
    await pair.down();
    const retries: string[] = [];
    const serial = new SerialDevice({ path: pair.a, backoff: { delayMs: 10, maxDelayMs: 100 }, onRetry: (e) => retries.push((e as SerialError).kind) });
    serial.start();
    await until(() => retries.length >= 2, 5000, "attempts");
    expect(new Set(retries)).toEqual(new Set(["not-found"]));
    await pair.up();
    device = await FakeDevice.boot(pair.b, storage);
    await until(() => serial.connected, 10_000, "the session");
    await serial.close();
  });

  it("notices a device that reset or went quiet on a port that stayed open (keepalive), and starts a new session", async () => {
    device = await FakeDevice.boot(pair.b, storage);
    const events: string[] = [];
    const serial = new SerialDevice({
      path: pair.a,
      backoff: { delayMs: 10 },
      keepaliveMs: 50,
      onUp: () => events.push("up"),
      onDown: (info) => events.push(`down ${info.reason}`),
    });
    serial.start();
    await until(() => serial.connected, 10_000, "the session");
    // The device reboots but the line stays: its new router knows no session on the line and
    // answers the next PING with ERROR 300.
    await device.shutdown();
    device = await FakeDevice.boot(pair.b, storage);
    await until(() => events.filter((e) => e === "up").length === 2 && serial.connected, 10_000, "a new session");
    expect(events).toContain("down device lost the session");
    expect(await serial.client.set("/x", 1)).toBeGreaterThan(0);
    // The device hangs (nothing reads the line): two unanswered PINGs end the session.
    await device.shutdown();
    device = undefined;
    await until(() => events.includes("down the device stopped answering"), 10_000, "the keepalive to give up");
    await serial.close();
  });
});
