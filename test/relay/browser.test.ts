// The playground in real Chromium: two pages see each other's changes through the relay,
// and through the in-browser hub (a Worker in one tab, joined by another over a
// BroadcastChannel), whose params survive in IndexedDB; the speak panel runs the media
// pipeline (normalize → speak → mp3) in Workers.
import { rm } from "node:fs/promises";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import WebSocket from "ws";
import { ClaspClient } from "../../src/clasp/client.js";
import type { Relay } from "../../src/relay/index.js";
import { WebSocketTransport, type WebSocketConstructor } from "../../src/transports/websocket.js";
import { buildBundle, describeChromium, openPage, withBrowser, type PageLog } from "../helpers/chromium.js";
import { startRelay } from "./helpers.js";

let relay: Relay;
let webDir: string;

/** Waits until the playground in `page` is connected; returns its status line. */
async function ready(page: Page): Promise<string> {
  await page.waitForFunction(() => (window as unknown as { playground?: { ready: Promise<void> } }).playground !== undefined);
  await page.evaluate(() => (window as unknown as { playground: { ready: Promise<void> } }).playground.ready);
  return page.locator("#status").innerText();
}

/**
 * Runs `fn` in a fresh browser (empty IndexedDB); what its pages logged is appended to the
 * error when it fails.
 */
function inBrowser(fn: (context: BrowserContext, log: PageLog) => Promise<void>): Promise<void> {
  return withBrowser(async (context) => {
    const log: PageLog = { lines: [] };
    try {
      await fn(context, log);
    } catch (err) {
      (err as Error).message += `\n--- pages ---\n${log.lines.join("\n")}`;
      throw err;
    }
  });
}

/** Waits until the params table row of `address` shows `expected` as its value; returns its revision text. */
async function row(page: Page, address: string, expected: string): Promise<string> {
  const cells = page.locator(`#params tr[data-address="${address}"] td`);
  await expect.poll(() => cells.nth(1).innerText().catch(() => ""), { timeout: 10_000 }).toBe(expected);
  return cells.nth(2).innerText();
}

describeChromium("playground in Chromium", () => {
  beforeAll(async () => {
    webDir = await buildBundle("web/index.html");
    relay = await startRelay({ web: webDir });
  }, 120_000);

  afterAll(async () => {
    await relay?.close();
    if (webDir) await rm(webDir, { recursive: true, force: true });
  });

  it("two pages see each other's changes through the relay, with revisions", async () => {
    await inBrowser(async (context, log) => {
      const a = await openPage(context, relay.httpUrl, log);
      const b = await openPage(context, relay.httpUrl, log);
      expect(await ready(a)).toMatch(/session [0-9a-f]{8}/);
      await ready(b);
      await a.locator("#fader-2").fill("0.42"); // a range input: fires input → SET
      expect(await row(b, "/playground/fader/2", "0.42")).toBe("1");
      await expect.poll(() => b.locator("#fader-2").inputValue()).toBe("0.42");
      await b.locator("#set-address").fill("/playground/note");
      await b.locator("#set-value").fill('{"from": "b"}');
      await b.locator("#set-form button").click();
      expect(await row(a, "/playground/note", '{"from":"b"}')).toBe("1");
      await a.locator("#emit-form button").click();
      await expect.poll(() => b.locator("#log").innerText()).toMatch(/event \/playground\/cue \{"cue":1\}/);
      // A Node client sees the browsers' params, revisions included.
      const node = await ClaspClient.connect(() => new WebSocketTransport(relay.url, { WebSocket: WebSocket as unknown as WebSocketConstructor }));
      expect(await node.get("/playground/fader/2")).toBe(0.42);
      expect(await node.set("/playground/fader/2", 0.9)).toBe(2);
      expect(await row(a, "/playground/fader/2", "0.9")).toBe("2");
      node.close();
      // The size panel reads the build's report from the relay.
      await expect.poll(() => a.locator("#sizes").innerText()).toMatch(/build\/clasp\.wasm/);
      expect(await a.locator("#speak-panel").count()).toBe(1);
    });
  });

  it("the Worker hub works between two pages, and its params survive in IndexedDB", async () => {
    await inBrowser(async (context, log) => {
      const url = `${relay.httpUrl}?hub=worker`;
      const host = await openPage(context, url, log);
      expect(await ready(host)).toMatch(/hub \(host\)/);
      const guest = await openPage(context, url, log);
      expect(await ready(guest)).toMatch(/hub \(guest\)/);
      await host.locator("#fader-1").fill("0.25");
      expect(await row(guest, "/playground/fader/1", "0.25")).toBe("1");
      await guest.locator("#fader-1").fill("0.75");
      expect(await row(host, "/playground/fader/1", "0.75")).toBe("2");
      // The relay saw none of it: the hub is in the browser.
      expect(relay.router.size).toBeLessThan(10);
      await host.evaluate(() => (window as unknown as { playground: { hub: { flush(): Promise<void> } } }).playground.hub.flush());
      // The hosting tab goes away: the guest notices (the hub's Web Lock is released).
      await host.close();
      await expect.poll(() => guest.locator("#status").innerText(), { timeout: 10_000 }).toMatch(/closed/);
      // A new tab hosts a new hub, restored from IndexedDB: value and revision are back.
      const again = await openPage(context, url, log);
      expect(await ready(again)).toMatch(/hub \(host\)/);
      expect(await row(again, "/playground/fader/1", "0.75")).toBe("2");
      await expect.poll(() => again.locator("#log").innerText()).toMatch(/restored 1 params from IndexedDB/);
    });
  });

  it("the speak panel turns typed text into an MP3 with the pipeline's wasm plugins in Workers", async () => {
    await inBrowser(async (context, log) => {
      const page = await openPage(context, relay.httpUrl, log);
      const panel = page.locator("#speak-panel");
      await panel.locator("textarea").fill("The quick brown fox jumps over the lazy dog. It is 3 o'clock.");
      await panel.locator("button[name=speak]").click();
      await expect.poll(() => panel.locator(".status").innerText(), { timeout: 120_000, interval: 500 }).toMatch(/^(done|failed)/);
      expect(await panel.locator(".status").innerText()).toMatch(/^done: \d+ KiB MP3/);
      // The player holds real audio: about three seconds of speech.
      await expect.poll(() => panel.locator("audio").evaluate((a: HTMLAudioElement) => a.duration), { timeout: 30_000 }).toBeGreaterThan(2);
    });
  }, 180_000);
});
