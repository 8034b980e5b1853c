/**
 * Vega-Lite specs rendered to SVG headlessly (no browser, no canvas), under
 * Deno and Bun alike. vega and vega-lite are dev dependencies: only the
 * benchmarks and the demo chart with them; the library never imports this.
 *
 * Without a canvas, vega guesses text widths as 0.8 × the font size per
 * character, about half again too wide, which squeezes plots and cuts
 * labels short; this module sets a per-character estimate of a common sans
 * serif (DejaVu Sans, Arial, Helvetica) instead.
 *
 * @module
 */

import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

/** Font used by every chart: what browsers and rsvg both have. */
export const FONT = "Helvetica, Arial, DejaVu Sans, sans-serif";

const NARROW = new Set("iljtfrI.,:;'|!()[]{} ");
const WIDE = new Set("mwMW@%");

/** Width of `text` at `size` px in a sans serif, rounded up a little. */
export function textWidth(text: string, size: number): number {
  let em = 0;
  for (const ch of text) {
    if (NARROW.has(ch)) em += 0.32;
    else if (WIDE.has(ch)) em += 0.9;
    else if (ch >= "A" && ch <= "Z") em += 0.68;
    else em += 0.58;
  }
  return Math.ceil(em * size);
}

type Metrics = { width: (item: unknown, text: unknown) => number };
type TextItem = { fontSize?: number; text?: unknown };

const metrics = (vega as unknown as { textMetrics: Metrics }).textMetrics;
metrics.width = (item, text) => {
  const value = text ?? (item as TextItem).text;
  const lines = Array.isArray(value) ? value : [value];
  const size = (item as TextItem).fontSize ?? 11;
  return Math.max(0, ...lines.map((line) => textWidth(String(line), size)));
};

/** Config shared by every chart: white background, readable sizes. */
export const BASE_CONFIG = {
  background: "white",
  font: FONT,
  padding: 12,
  title: { fontSize: 16, subtitleFontSize: 12, anchor: "start", offset: 10 },
  axis: { labelFontSize: 12, titleFontSize: 12, titlePadding: 8 },
  header: { labelFontSize: 13, titleFontSize: 13 },
  legend: { labelFontSize: 12, titleFontSize: 12 },
  view: { stroke: "#ddd" },
} as const;

/** Renders a Vega-Lite spec to an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
