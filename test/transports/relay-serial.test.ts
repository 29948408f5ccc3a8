// `clawft relay --serial`: a device that runs a CLASP router on the far end of a serial line
// (a socat pty pair; the fake device is a MiniRouter speaking SLIP on its end, as
// `clawft.wasm router` does under WAMR) joined to the relay, and the real @clasp-to/core
// 3.3.2 client on the relay's WebSocket: it sets, gets and subscribes to params that live on
// the device and sees the device's own SETs; the device goes away and comes back, and the
// relay reconnects with the device's state.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { parseSerialSpec, applyToml, defaultConfig, RelayConfigError } from "../../src/relay/config.js";
import { RawClient, spawnRelay, type RelayProcess } from "../relay/helpers.js";
import { FakeDevice, MemoryStorage, NO_SOCAT, PtyPair, sleep, until } from "./helpers.js";

(globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
const { Clasp } = await import("@clasp-to/core");

describe("--serial PATH[:BAUD] and relay.toml serial", () => {
  it("parses a path with an optional baud rate; only digits after the last colon are one", () => {
    expect(parseSerialSpec("/dev/ttyACM0")).toEqual({ path: "/dev/ttyACM0" });
    expect(parseSerialSpec("/dev/ttyUSB0:921600")).toEqual({ path: "/dev/ttyUSB0", baudRate: 921600 });
    expect(parseSerialSpec("/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0")).toEqual({ path: "/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0" });
    expect(() => parseSerialSpec(":115200")).toThrow(RelayConfigError);
    expect(() => parseSerialSpec("/dev/x:0")).toThrow(/baud rate/);
  });

  it("reads serial devices from relay.toml as strings or tables, and names a bad entry", () => {
    const c = applyToml(defaultConfig(), 'serial = ["/dev/ttyACM0:57600", { path = "/dev/ttyUSB1", baud = 921600, pattern = "/synth/**" }]');
    expect(c.serial).toEqual([
      { path: "/dev/ttyACM0", baudRate: 57600 },
      { path: "/dev/ttyUSB1", baudRate: 921600, pattern: "/synth/**" },
    ]);
    expect(() => applyToml(defaultConfig(), 'serial = [{ path = "/dev/x", speed = 9600 }]')).toThrow(/serial\[0\]: unknown key "speed"/);
    expect(() => applyToml(defaultConfig(), 'serial = "/dev/x"')).toThrow(/serial: must be an array/);
  });
});

describe.skipIf(NO_SOCAT)(`clawft relay --serial with a device router on a pty${NO_SOCAT ? ` (${NO_SOCAT})` : ""}`, () => {
  let pair: PtyPair;
  const storage = new MemoryStorage(); // the device's flash: outlives its reboots
  let device: FakeDevice | undefined;
  let relay: RelayProcess;
  const clients: Array<InstanceType<typeof Clasp>> = [];

  beforeAll(async () => {
    vi.spyOn(console, "debug").mockImplementation(() => {}); // the 3.3.2 client logs every ACK
    pair = await PtyPair.create();
    device = await FakeDevice.boot(pair.b, storage);
    device.set("/sensor/temp", 20.5);
    device.set("/led/1", 0);
    device.subscribe("/led/**");
    relay = await spawnRelay(["--port", "0", "--no-web", "--serial", `${pair.a}:115200`]);
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    relay?.proc.kill("SIGTERM");
    await relay?.exited;
    await device?.shutdown();
    await pair?.close();
    vi.restoreAllMocks();
  });

  const attached = () => relay.out.filter((l) => / attached at 115200 baud/.test(l)).length;

  it("mirrors the device's params to WebSocket clients, both ways, and across a device reboot", async () => {
    // Printed after the "clawft relay on" line spawnRelay waits for, maybe in a later chunk.
    const mirrored = `serial ${pair.a} at 115200 baud: params /** mirrored (connecting…)`;
    await until(() => relay.out.includes(mirrored), 5_000, "the serial line's start-up line");
    await until(() => attached() === 1, 15_000, "the device to attach");
    expect(relay.out.some((l) => l.includes('device "fake device" attached'))).toBe(true);

    const client = new Clasp(relay.url, { name: "desk", reconnect: false });
    await client.connect();
    clients.push(client);
    const seen: Array<[string, unknown]> = [];
    client.subscribe("/sensor/**", (value, address) => seen.push([address, value]));
    client.subscribe("/led/**", (value, address) => seen.push([address, value]));

    // The device's params are on the relay: its snapshot, then its own SETs as they happen.
    await until(() => seen.some(([a, v]) => a === "/sensor/temp" && v === 20.5), 10_000, "the device's param");
    device!.set("/sensor/temp", 21);
    await until(() => seen.some(([, v]) => v === 21), 10_000, "the device's own SET");
    expect(await client.get("/sensor/temp")).toBe(21);

    // A client's SET reaches the device's router (its app sees it); the relay applies it once
    // the device acknowledged it, and only once.
    client.set("/led/1", 1);
    await until(() => device!.appInbox.some((m) => m.type === "SET" && m.address === "/led/1" && m.value === 1), 10_000, "the SET on the device");
    await until(() => seen.some(([a, v]) => a === "/led/1" && v === 1), 10_000, "the SET applied on the relay");
    expect(await client.get("/led/1")).toBe(1);
    await sleep(100);
    expect(seen.filter(([a, v]) => a === "/led/1" && v === 1)).toHaveLength(1); // the device's echo is not news

    // The device refuses a SET (its app holds the param's lock): the client gets the device's
    // ERROR, and the relay keeps the device's value.
    device!.lock("/led/2", 7);
    await until(() => seen.some(([a, v]) => a === "/led/2" && v === 7), 10_000, "the locked param");
    const desk = await RawClient.hello(relay.url);
    desk.send({ type: "SET", address: "/led/2", value: 8 });
    expect(await desk.next("ERROR")).toMatchObject({ code: 401, address: "/led/2", message: expect.stringMatching(/locked by/) });
    expect(await client.get("/led/2")).toBe(7);
    desk.close();

    // The device goes away: SETs on its params are refused meanwhile (ERROR 501).
    await device!.shutdown();
    device = undefined;
    await pair.down();
    await until(() => relay.out.some((l) => l.includes("device lost (gone")), 10_000, "the relay to notice");
    const raw = await RawClient.hello(relay.url);
    raw.send({ type: "SET", address: "/led/1", value: 5 });
    const refused = await raw.next("ERROR");
    expect(refused).toMatchObject({ code: 501, address: "/led/1" });
    expect(refused.message).toMatch(/offline/);
    raw.send({ type: "SET", address: "/desk/note", value: "not the device's" }); // stays the relay's
    await raw.next("ACK");
    raw.close();

    // It comes back with its state (kept in its storage) and new readings: the relay reconnects.
    await pair.up();
    device = await FakeDevice.boot(pair.b, storage);
    device.subscribe("/led/**");
    await until(() => attached() === 2, 15_000, "the device to attach again");
    device.set("/sensor/temp", 22.5);
    await until(() => seen.some(([, v]) => v === 22.5), 10_000, "a SET from the rebooted device");
    expect(await client.get("/led/1")).toBe(1);
    client.set("/led/1", 2);
    await until(() => device!.appInbox.some((m) => m.type === "SET" && m.address === "/led/1" && m.value === 2), 10_000, "a SET on the rebooted device");
  });

  it("stops cleanly on SIGTERM", async () => {
    relay.proc.kill("SIGTERM");
    expect(await relay.exited).toEqual([0, null]);
    expect(relay.out).toContain("relay stopped");
  });
});
