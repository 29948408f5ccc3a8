/**
 * The playground's signals panel: a live uPlot chart of a CLASP stream param, so a 1 kHz
 * stream can be watched, not read. "generate" streams a 1 kHz test signal (a 2 Hz sine plus a
 * 13 Hz ripple) to the address from a second session of this page (routers send a PUBLISH to
 * every subscriber but its sender), in PUBLISH frames of samples every 20 ms; any client's
 * stream on the address is plotted the same way (the last 5 s, redrawn once a frame).
 * @module
 */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { ClaspClient, MessageInfo } from "../../src/clasp/client.js";
import type { ClaspValue } from "../../src/clasp/index.js";

/** Sample rate of the generated signal, Hz. */
export const RATE = 1000;
/** Seconds kept on screen. */
const WINDOW_S = 5;
/** Milliseconds of samples per PUBLISH. */
const CHUNK_MS = 20;

/** What the panel exposes on `window.playground.signals`. */
export interface SignalsPanel {
  /**
   * Subscribes `client` to the address (called on every (re)connect); `open` connects another
   * session to the same hub, for the generator.
   */
  attach(client: ClaspClient, open: () => Promise<ClaspClient>): void;
  /** Starts or stops the 1 kHz generator (resolves once its session is connected). */
  generate(on: boolean): Promise<void>;
  /** Samples received so far, and the effective rate over the last second (Hz). */
  stats(): { received: number; rateHz: number; points: number };
}

/** Fills `el` with the panel; see {@link SignalsPanel}. */
export function mountSignalsPanel(el: HTMLElement, address = "/playground/signal"): SignalsPanel {
  el.innerHTML = `
<h2>Signals <small>stream <code>${address}</code> · uPlot</small></h2>
<div class="row"><button name="gen">generate 1 kHz</button><span class="status" role="status">not connected</span></div>
<div class="plot"></div>`;
  const button = el.querySelector<HTMLButtonElement>("button")!;
  const status = el.querySelector<HTMLElement>(".status")!;
  const plotEl = el.querySelector<HTMLElement>(".plot")!;

  const cap = RATE * WINDOW_S;
  const xs = new Float64Array(cap);
  const ys = new Float64Array(cap);
  let n = 0; // samples in the ring
  let head = 0; // next write position
  let received = 0;
  const arrivals: Array<[number, number]> = []; // [ms, samples] of the last second
  let dirty = false;

  const plot = new uPlot(
    {
      width: Math.max(200, plotEl.clientWidth),
      height: 180,
      legend: { show: false },
      scales: { x: { time: false } },
      axes: [{ label: "s" }, {}],
      series: [{}, { stroke: "#3a7", width: 1 }],
    },
    [[], []],
    plotEl,
  );
  new ResizeObserver(() => plot.setSize({ width: Math.max(200, plotEl.clientWidth), height: 180 })).observe(plotEl);

  function push(samples: readonly number[], rate: number, startS: number): void {
    for (let i = 0; i < samples.length; i++) {
      xs[head] = startS + i / rate;
      ys[head] = samples[i]!;
      head = (head + 1) % cap;
      if (n < cap) n++;
    }
    received += samples.length;
    const now = performance.now();
    arrivals.push([now, samples.length]);
    while (arrivals.length && arrivals[0]![0] < now - 1000) arrivals.shift();
    dirty = true;
  }

  function draw(): void {
    if (dirty) {
      dirty = false;
      const start = (head - n + cap) % cap;
      const order = (a: Float64Array) => (start + n <= cap ? a.slice(start, start + n) : Float64Array.of(...a.subarray(start), ...a.subarray(0, head)));
      plot.setData([Array.from(order(xs)), Array.from(order(ys))]);
    }
    requestAnimationFrame(draw);
  }
  requestAnimationFrame(draw);

  let client: ClaspClient | undefined;
  let openGenerator: (() => Promise<ClaspClient>) | undefined;
  let generator: ClaspClient | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let t = 0; // generator sample index

  const stats = () => ({ received, rateHz: arrivals.reduce((s, a) => s + a[1], 0), points: n });
  setInterval(() => {
    if (client) status.textContent = `${stats().rateHz} samples/s received · ${received.toLocaleString()} in all`;
  }, 500);

  async function generate(on: boolean): Promise<void> {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    button.textContent = on ? "stop" : "generate 1 kHz";
    if (!on) return;
    if (!openGenerator) {
      status.textContent = "not connected: connect to a hub first";
      button.textContent = "generate 1 kHz";
      return;
    }
    generator ??= await openGenerator();
    const g = generator;
    const t0 = performance.now();
    timer = setInterval(() => {
      // Catch up to the wall clock: timers are late, the stream's rate is not.
      const due = Math.floor(((performance.now() - t0) / 1000) * RATE);
      while (t < due) {
        const count = Math.min(due - t, (RATE * CHUNK_MS) / 1000);
        const samples = new Float64Array(count);
        for (let i = 0; i < count; i++) {
          const s = (t + i) / RATE;
          samples[i] = Math.sin(2 * Math.PI * 2 * s) + 0.2 * Math.sin(2 * Math.PI * 13 * s);
        }
        try {
          g.stream(address, samples, RATE);
        } catch {
          void generate(false); // disconnected
          return;
        }
        t += count;
      }
    }, CHUNK_MS);
  }
  button.addEventListener("click", () => {
    generate(timer === undefined).catch((err: Error) => (status.textContent = `generator failed: ${err.message}`));
  });

  function attach(c: ClaspClient, open: () => Promise<ClaspClient>): void {
    const was = timer !== undefined;
    void generate(false);
    generator?.close();
    generator = undefined;
    openGenerator = open;
    client = c;
    if (was) void generate(true);
    status.textContent = "connected: waiting for samples";
    c.on(address, (value: ClaspValue, _a: string, info: MessageInfo) => {
      if (info.signal !== "stream") return;
      const rate = info.rate ?? RATE;
      const startS = info.timestamp !== undefined ? Number(info.timestamp) / 1e6 : performance.now() / 1000;
      if (info.samples) push(info.samples, rate, startS);
      else if (typeof value === "number") push([value], rate, startS);
    });
  }

  return { attach, generate, stats };
}
