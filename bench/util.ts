/** Shared benchmark helpers: timing with warm-up and medians, and markdown tables. */

/** Median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Runs `fn` (which processes `items` items per call) repeatedly: a warm-up, then `runs` timed
 * rounds of at least `minMs` each. Returns the median throughput in items per second.
 */
export function throughput(fn: () => void, items: number, { runs = 7, minMs = 150 } = {}): number {
  const warm = performance.now();
  while (performance.now() - warm < minMs) fn();
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    let calls = 0;
    const t0 = performance.now();
    let t1 = t0;
    while (t1 - t0 < minMs) {
      fn();
      calls++;
      t1 = performance.now();
    }
    rates.push((calls * items * 1000) / (t1 - t0));
  }
  return median(rates);
}

/** Formats a number with thousands separators and no decimals (or `digits` decimals). */
export function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Prints a markdown table. */
export function table(head: string[], rows: Array<Array<string | number>>): void {
  console.log(`| ${head.join(" | ")} |`);
  console.log(`|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}

/**
 * Measures `a` and `b` (each processing `items` items per call) in alternating rounds, so
 * that load changes on a shared machine hit both alike. Returns the median throughput of
 * each (items/s) and the median of the per-round ratios a/b.
 */
export function compare(a: () => void, b: () => void, items: number, { rounds = 9, minMs = 120 } = {}): { a: number; b: number; ratio: number } {
  const rate = (fn: () => void) => {
    let calls = 0;
    const t0 = performance.now();
    let t1 = t0;
    while (t1 - t0 < minMs) {
      fn();
      calls++;
      t1 = performance.now();
    }
    return (calls * items * 1000) / (t1 - t0);
  };
  rate(a);
  rate(b);
  const as: number[] = [];
  const bs: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const x = rate(a);
    const y = rate(b);
    as.push(x);
    bs.push(y);
    ratios.push(x / y);
  }
  return { a: median(as), b: median(bs), ratio: median(ratios) };
}
