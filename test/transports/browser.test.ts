// The Web Serial and Web MIDI transports in real Chromium (Debian's, through playwright-core)
// against injected fakes: a SerialPort with WHATWG streams and a MIDIAccess with ports, a
// MiniRouter behind each as the device (test/fixtures/device-links.ts). Headless Chromium
// reaches no device (toolchain.md), so the fakes are the honest test of our side.
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildBundle, describeChromium, serveStatic, withPage, type StaticServer } from "../helpers/chromium.js";

describeChromium("device links in Chromium", () => {
  let server: StaticServer;
  beforeAll(async () => {
    server = await serveStatic(await buildBundle("test/fixtures/device-links.html"));
  });
  afterAll(async () => {
    await server?.close();
  });

  const run = (scenario: string) =>
    withPage(`${server.url}test/fixtures/device-links.html`, async (page) => {
      await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
      return page.evaluate((name) => (window as unknown as Record<string, () => Promise<unknown>>)[name]!(), scenario);
    });

  it("Web Serial: a CLASP session over a port's streams, SLIP resync after line faults, 1006 when the device is lost", async () => {
    const r = (await run("webSerialScenario")) as Record<string, unknown>;
    expect(r.welcome).toBe("page device");
    expect(r.openedWith).toEqual({ baudRate: 921600, bufferSize: 4096 });
    expect(r.revision).toBeGreaterThan(0);
    expect(r.cutoff).toBe(0.9);
    expect(r.noise).toEqual([expect.stringMatching(/shorter than its header/), expect.stringMatching(/past the end/)]);
    expect(r.stats).toMatchObject({ packetsLost: 2, bytesLost: 3 + 5 });
    expect((r.stats as { framesIn: number }).framesIn).toBeGreaterThanOrEqual(4);
    expect(r.lineErrors).toBe(1);
    expect(r.reopen).toBe("SerialError open");
    expect(r.close).toMatchObject({ code: 1006, reason: expect.stringMatching(/device has been lost/) });
    expect(r).toMatchObject({ errorKind: "gone", errorIsSerialError: true, connected: false, sendAfter: "not-open" });
  });

  it("Web MIDI: frames in SysEx under the size limit both ways, other MIDI left alone, a spoiled frame dropped and counted, 1006 on unplug", async () => {
    const r = (await run("webMidiScenario")) as Record<string, unknown>;
    expect(r.welcome).toBe("page device");
    expect(r.opened).toEqual([1, 1, 0]); // the named device's ports, not the other ones
    expect(r.sentMessages).toBeGreaterThan(4); // HELLO, SUBSCRIBE and the long SET, split
    expect(r.longest).toBeLessThanOrEqual(32);
    expect(r.noise).toEqual([expect.stringMatching(/out of order/)]);
    expect((r.stats as { packetsLost: number }).packetsLost).toBe(1);
    expect((r.stats as { bytesLost: number }).bytesLost).toBeGreaterThan(20);
    expect(r.failures).toEqual(["MidiError not-found", "MidiError no-access"]);
    expect(r.close).toMatchObject({ code: 1006, reason: expect.stringMatching(/Fake Synth disconnected/) });
    expect(r).toMatchObject({ errorKind: "gone", connected: false });
  });
});
