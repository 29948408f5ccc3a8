/**
 * SVG plots of benchmark results, drawn with Vega-Lite (compiled to Vega, rendered headless to
 * SVG) into docs/plots/, which the README and the docs show. Each bench calls these with the
 * figures it measured in the same run; nothing is plotted from stored numbers.
 * @module
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

/** Where plots go: docs/plots/<name>.svg. */
const PLOTS = join(dirname(fileURLToPath(import.meta.url)), "../docs/plots");

/** One point of a series. */
export interface Point {
  /** The series (a library, a configuration). */
  series: string;
  x: number;
  y: number;
  /** Optional label drawn beside the point (e.g. the `ef` it was measured at). */
  label?: string;
}

/** Axes and titles of a {@link linePlot}. */
export interface LinePlotOptions {
  title: string;
  /** Axis titles, with units. */
  x: string;
  y: string;
  /** Log scale on the y axis (ann-benchmarks draws q/s that way). */
  logY?: boolean;
  /** Lower bound of the x axis (defaults to the data's). */
  xMin?: number;
  /** Lines of text under the title: machine, data set, date. */
  subtitle?: string | string[];
}

/**
 * Writes a line plot (one line with point marks per series, points joined in x order) to
 * docs/plots/`name`.svg and returns its path.
 * @throws Error when Vega cannot render the spec
 */
export async function linePlot(name: string, points: readonly Point[], o: LinePlotOptions): Promise<string> {
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: o.title, ...(o.subtitle && { subtitle: o.subtitle }) },
    width: 560,
    height: 340,
    data: { values: points.map((p) => ({ ...p, label: p.label ?? "" })) },
    layer: [
      {
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "x", type: "quantitative", title: o.x, scale: { zero: false, ...(o.xMin !== undefined && { domainMin: o.xMin }) } },
          y: { field: "y", type: "quantitative", title: o.y, scale: o.logY ? { type: "log" } : { zero: true } },
          color: { field: "series", type: "nominal", title: null, legend: { orient: "bottom", columns: 2, labelLimit: 360 } },
          order: { field: "x", type: "quantitative" },
        },
      },
      {
        mark: { type: "text", dx: 6, dy: -6, align: "left", fontSize: 9, color: "#555" },
        encoding: {
          x: { field: "x", type: "quantitative" },
          y: { field: "y", type: "quantitative" },
          text: { field: "label", type: "nominal" },
        },
      },
    ],
    config: { font: "sans-serif", background: "white" },
  };
  return render(name, spec);
}

/** Bars of a {@link barPlot}: one group per `group`, one bar per `series` inside it. */
export interface Bar {
  group: string;
  series: string;
  value: number;
}

/**
 * Writes a grouped bar chart (groups along x, one bar per series inside each) to
 * docs/plots/`name`.svg and returns its path.
 * @throws Error when Vega cannot render the spec
 */
export async function barPlot(name: string, bars: readonly Bar[], o: { title: string; value: string; subtitle?: string | string[] }): Promise<string> {
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: o.title, ...(o.subtitle && { subtitle: o.subtitle }) },
    data: { values: bars.map((b) => ({ ...b })) },
    width: 560,
    height: 300,
    mark: { type: "bar", tooltip: true },
    encoding: {
      x: { field: "group", type: "nominal", title: null, sort: null, axis: { labelAngle: 0, labelLimit: 200 } },
      xOffset: { field: "series", type: "nominal", sort: null },
      y: { field: "value", type: "quantitative", title: o.value },
      color: { field: "series", type: "nominal", title: null, sort: null, legend: { orient: "bottom", direction: "vertical", labelLimit: 480 } },
    },
    config: { font: "sans-serif", background: "white" },
  };
  return render(name, spec);
}

async function render(name: string, spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  await mkdir(PLOTS, { recursive: true });
  const file = join(PLOTS, `${name}.svg`);
  await writeFile(file, svg);
  return file;
}
