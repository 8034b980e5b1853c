/**
 * The desktop example's picture: for each run (with the lock, and the
 * control without it) the screen, scaled down, with the path each bot
 * dragged the pointer along, every read-back that found the pointer
 * elsewhere marked in red (a line from where the bot put it to where it
 * was), and below it the drags on a time axis, a row per bot. A small
 * hand-made SVG: no dependency.
 *
 * @module
 */

import { type BotResult, disturbed } from "./paths.ts";

/** One run to draw. */
export interface RunPicture {
  /** `lock` or `nolock`. */
  readonly mode: "lock" | "nolock";
  /** What each bot reported. */
  readonly results: readonly BotResult[];
}

/** Colours of bot-1, bot-2, bot-3 ... */
const COLOURS = ["#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
const RED = "#d62728";
const PANEL_WIDTH = 400;
const MARGIN = 24;
const GAP = 40;
const TITLE = 46;
const ROW = 14;

const escape = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fixed = (n: number) => Number(n.toFixed(1));
const runtimeName = (r: string) => r === "bun" ? "Bun" : "Deno";

/** The SVG document for `runs` on a `width` x `height` screen. */
export function pathsSvg(
  screen: { width: number; height: number; display: string },
  runs: readonly RunPicture[],
): string {
  const scale = PANEL_WIDTH / screen.width;
  const panelHeight = Math.round(screen.height * scale);
  const bots = runs[0]?.results ?? [];
  const timelineTop = TITLE + panelHeight + 26;
  const timelineHeight = 18 + bots.length * ROW;
  const legendTop = timelineTop + timelineHeight + 22;
  // One time axis for every run, so a longer run shows as longer.
  const spans = runs.map((run) => {
    const drags = run.results.flatMap((r) => r.drags);
    return Math.max(...drags.map((d) => d.end)) -
      Math.min(...drags.map((d) => d.start));
  });
  const span = Math.max(...spans, 1);
  const width = 2 * MARGIN + runs.length * PANEL_WIDTH +
    (runs.length - 1) * GAP;
  const height = legendTop + 48;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  );
  runs.forEach((run, i) => {
    const left = MARGIN + i * (PANEL_WIDTH + GAP);
    out.push(...panel(run, left, scale, panelHeight, timelineTop, span));
  });
  // Legend: a swatch per bot, and the red mark.
  let x = MARGIN;
  bots.forEach((bot, i) => {
    const label = `${bot.bot} (${runtimeName(bot.runtime)}): ${bot.shape}`;
    out.push(
      `<rect x="${x}" y="${legendTop - 9}" width="14" height="10" fill="${
        COLOURS[i % COLOURS.length]
      }"/>`,
      `<text x="${x + 19}" y="${legendTop}">${escape(label)}</text>`,
    );
    x += 30 + label.length * 6.5;
  });
  const second = legendTop + 18;
  out.push(
    `<line x1="${MARGIN}" y1="${second - 4}" x2="${MARGIN + 14}" y2="${
      second - 4
    }" stroke="${RED}" stroke-width="1.5"/>`,
    `<circle cx="${MARGIN + 14}" cy="${second - 4}" r="2.5" fill="${RED}"/>`,
    `<text x="${
      MARGIN + 22
    }" y="${second}">a read-back that found the pointer elsewhere: from where the bot put it to where it was (a red-edged bar: a disturbed drag)</text>`,
    `<text x="${MARGIN}" y="${second + 20}" fill="#666">X display ${
      escape(screen.display)
    }, ${screen.width}×${screen.height}, scaled to ${
      Math.round(scale * 100)
    }%</text>`,
    `</svg>`,
  );
  return out.join("\n") + "\n";
}

function panel(
  run: RunPicture,
  left: number,
  scale: number,
  panelHeight: number,
  timelineTop: number,
  span: number,
): string[] {
  const out: string[] = [];
  const steps = run.results.flatMap((r) => r.drags.flatMap((d) => d.steps));
  const elsewhere = steps.filter(disturbed).length;
  const title = run.mode === "lock"
    ? "With the mouse lock"
    : "Control: the lock switched off";
  const verdict = elsewhere === 0
    ? `every read-back found the pointer where its bot put it (${steps.length} of ${steps.length})`
    : `${elsewhere} of ${steps.length} read-backs found the pointer elsewhere`;
  out.push(
    `<text x="${left}" y="18" font-size="15" font-weight="bold">${title}</text>`,
    `<text x="${left}" y="36" fill="${elsewhere === 0 ? "#2a7d2a" : RED}">${
      escape(verdict)
    }</text>`,
    `<rect x="${left}" y="${TITLE}" width="${PANEL_WIDTH}" height="${panelHeight}" fill="#f3f3f3" stroke="#999"/>`,
  );
  const at = (x: number, y: number) =>
    `${fixed(left + x * scale)},${fixed(TITLE + y * scale)}`;
  // The paths the bots drew.
  run.results.forEach((result, b) => {
    const colour = COLOURS[b % COLOURS.length];
    for (const drag of result.drags) {
      const points = drag.steps.map(([x, y]) => at(x, y)).join(" ");
      out.push(
        `<polyline points="${points}" fill="none" stroke="${colour}" stroke-width="2" stroke-linejoin="round"/>`,
      );
    }
  });
  // Where the pointer was instead, on top.
  for (const result of run.results) {
    for (const drag of result.drags) {
      for (const step of drag.steps.filter(disturbed)) {
        const [from, to] = [at(step[0], step[1]), at(step[2], step[3])];
        const [x1, y1] = from.split(",");
        const [x2, y2] = to.split(",");
        out.push(
          `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${RED}" stroke-opacity="0.35"/>`,
          `<circle cx="${x2}" cy="${y2}" r="2" fill="${RED}"/>`,
        );
      }
    }
  }
  // The drags in time: one row per bot.
  const drags = run.results.flatMap((r) => r.drags);
  const t0 = Math.min(...drags.map((d) => d.start));
  const t1 = Math.max(...drags.map((d) => d.end));
  out.push(
    `<text x="${left}" y="${timelineTop - 6}">drags in time, a row per bot: ${
      run.mode === "lock" ? "one at a time" : "all at once"
    } (${Math.round(t1 - t0)} ms)</text>`,
  );
  run.results.forEach((result, b) => {
    const colour = COLOURS[b % COLOURS.length];
    const y = timelineTop + 4 + b * ROW;
    out.push(
      `<line x1="${left}" y1="${y + 5}" x2="${left + PANEL_WIDTH}" y2="${
        y + 5
      }" stroke="#ddd"/>`,
    );
    for (const drag of result.drags) {
      const x = left + (drag.start - t0) / span * PANEL_WIDTH;
      const w = Math.max((drag.end - drag.start) / span * PANEL_WIDTH, 1);
      const hit = drag.steps.some(disturbed);
      out.push(
        `<rect x="${fixed(x)}" y="${y}" width="${
          fixed(w)
        }" height="10" fill="${colour}"${
          hit ? ` stroke="${RED}" stroke-width="1.5"` : ""
        }/>`,
      );
    }
  });
  return out;
}
