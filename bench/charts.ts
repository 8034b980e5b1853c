/**
 * The benchmark's pictures, written next to bench/README.md (bench/charts/)
 * by bench/run.ts and embedded by the README:
 *
 * - `ratios.svg`: every compared row's ratio to its same-run baseline, a
 *   panel per section, a bar per runtime, the target as a black tick;
 * - `handoff.svg`: hand-off latency per variant and runtime, p50 and p99
 *   (the tail is what a waiting bot feels; the table adds p90).
 *
 * Rows are grouped into series by {@link seriesOf}: today the runtime
 * (Deno, Bun, C). Rows of other engines join by their name — see there.
 *
 * Also runs alone, to redraw the charts from rows saved by
 * `bench/run.ts --save-rows=FILE`:
 * `node_modules/.bin/deno run -A bench/charts.ts FILE [OUTDIR] [--title=…]`.
 *
 * @module
 */

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import type { TopLevelSpec } from "vega-lite";
import { ROOT } from "./proc.ts";
import { ratioOf, type Row } from "./table.ts";
import { BASE_CONFIG, renderSvg } from "./vega_svg.ts";

/** Where `npm run bench` writes its charts. */
export const CHARTS_DIR: string = join(ROOT, "bench", "charts");

/**
 * The series a row is drawn in (one colour each). Today: the runtime.
 *
 * Hook for the Redis engine's rows: a row whose operation names Redis
 * (`"redis: await acquire() + …"`, any case) becomes its own series,
 * `"deno + Redis"` / `"bun + Redis"`, with its own colour below; nothing
 * else needs to change for its ratios and hand-off latencies to be drawn.
 */
export function seriesOf(row: Row): string {
  return /redis/i.test(row.operation) ? `${row.runtime} + Redis` : row.runtime;
}

/** Series in legend order, with their colours; unknown series get grey shades. */
const SERIES_COLOURS: [string, string][] = [
  ["deno", "#2f6db5"],
  ["bun", "#e8872a"],
  ["C", "#6b6b6b"],
  ["deno + Redis", "#8fb5e3"],
  ["bun + Redis", "#f4c18f"],
];

function seriesScale(rows: readonly Row[]): {
  domain: string[];
  range: string[];
} {
  return seriesColours(rows.map(seriesOf));
}

/**
 * The colour scale of the series named in `names` (legend order, known
 * colours; unknown series in grey). Also used by `redis_charts.ts`.
 */
export function seriesColours(names: Iterable<string>): {
  domain: string[];
  range: string[];
} {
  const present = new Set(names);
  const known = SERIES_COLOURS.filter(([name]) => present.has(name));
  const unknown = [...present].filter((s) =>
    !SERIES_COLOURS.some(([name]) => name === s)
  );
  return {
    domain: [...known.map(([n]) => n), ...unknown],
    range: [...known.map(([, c]) => c), ...unknown.map(() => "#a0a0a0")],
  };
}

const SECTION_TITLES: Record<string, string> = {
  "uncontended": "Uncontended: one process, lock always free",
  "hand-off": "Hand-off p50: release in one process → acquire in the other",
  "contended": "Contended: processes looping lock; counter++; unlock",
  "memory": "Memory: writes into guard.memory while holding the lock",
};

/** Ratios above this are drawn cut off at it (the value is written at the bar). */
const RATIO_CAP = 3;

/** A compared row, flattened for the chart. */
interface RatioDatum {
  label: string[];
  series: string;
  ratio: number;
  shown: number;
  /** Where the value is written: past the bar, or past a target tick just beyond it. */
  textAt: number;
  text: string;
  target: number | null;
}

/** Splits a long label into lines of at most `width` characters at spaces. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines;
}

/** The row's label: the operation and what it is compared with. */
function ratioLabel(rows: readonly Row[], operation: string): string[] {
  const mine = rows.filter((r) => r.operation === operation && r.baseline);
  const names = [...new Set(mine.map((r) => r.baseline!.name))];
  const against = names.length === 1
    ? `vs ${names[0]}`
    : `vs ${mine.map((r) => `${r.runtime}: ${r.baseline!.name}`).join("; ")}`;
  return [...wrap(operation, 58), ...wrap(against, 62).map((l) => `  ${l}`)];
}

function ratioPanel(
  section: string,
  rows: readonly Row[],
  colour: { domain: string[]; range: string[] },
) {
  const compared = rows.filter((r) => ratioOf(r) !== undefined);
  const operations = [...new Set(compared.map((r) => r.operation))];
  const values: RatioDatum[] = compared.map((row) => {
    const ratio = ratioOf(row)!;
    return {
      label: ratioLabel(compared, row.operation),
      series: seriesOf(row),
      ratio,
      shown: Math.min(ratio, RATIO_CAP),
      textAt: Math.min(ratio, RATIO_CAP),
      text: `${ratio.toFixed(2)}×${ratio > RATIO_CAP ? " ▸" : ""}`,
      target: row.target?.ratio ?? null,
    };
  });
  const labels = operations.map((op) => ratioLabel(compared, op).join("\n"));
  const lowerBetter = compared[0]?.unit === "ns";
  const lines = Math.max(...values.map((v) => v.label.length));
  const perOp = Math.max(
    Math.max(2, colour.domain.length) * 16 + 18,
    lines * 14 + 12,
  );
  const y = {
    field: "key",
    type: "nominal",
    sort: labels,
    title: null,
    axis: {
      labelExpr: "split(datum.label, '\\n')",
      labelLimit: 400,
      labelFontSize: 11.5,
      labelLineHeight: 14,
      labelPadding: 6,
    },
  } as const;
  const yOffset = {
    field: "series",
    type: "nominal",
    scale: { domain: colour.domain },
  } as const;
  const maxShown = Math.max(
    1.2,
    ...values.map((v) => v.shown),
    ...values.map((v) => v.target ?? 0),
  );
  const top = Math.min(RATIO_CAP, maxShown) * 1.12;
  for (const v of values) {
    // A value written across the target's tick is hard to read: write it
    // past the tick when the tick is just beyond the bar's end.
    if (
      v.target !== null && v.target > v.shown && v.target - v.shown < top / 9
    ) {
      v.textAt = v.target;
    }
  }
  const x = {
    field: "shown",
    type: "quantitative",
    scale: { domain: [0, top], nice: false },
    title: `ratio to the baseline of the same run (×) — ${
      lowerBetter ? "time: lower is better" : "throughput: higher is better"
    }`,
  } as const;
  return {
    title: { text: SECTION_TITLES[section] ?? section, fontSize: 14 },
    width: 560,
    height: operations.length * perOp,
    data: {
      values: values.map((v) => ({ ...v, key: v.label.join("\n") })),
    },
    layer: [
      {
        mark: { type: "bar", height: { band: 1 } },
        encoding: {
          y,
          yOffset,
          x,
          color: {
            field: "series",
            type: "nominal",
            scale: colour,
            title: "runtime",
          },
        },
      },
      {
        mark: {
          type: "text",
          align: "left",
          baseline: "middle",
          dx: 4,
          fontSize: 11,
        },
        encoding: {
          y,
          yOffset,
          x: { ...x, field: "textAt" },
          text: { field: "text" },
        },
      },
      {
        transform: [{ filter: "datum.target !== null" }],
        mark: { type: "tick", thickness: 3, color: "black" },
        encoding: {
          y,
          yOffset,
          x: { field: "target", type: "quantitative" },
        },
      },
      {
        data: { values: [{ one: 1 }] },
        mark: { type: "rule", strokeDash: [4, 3], color: "#888" },
        encoding: { x: { field: "one", type: "quantitative" } },
      },
    ],
  };
}

const SECTION_ORDER = ["uncontended", "hand-off", "contended", "memory"];

function sectionsOf(rows: readonly Row[]): string[] {
  const present = [...new Set(rows.map((r) => r.section as string))];
  return [
    ...SECTION_ORDER.filter((s) => present.includes(s)),
    ...present.filter((s) => !SECTION_ORDER.includes(s)),
  ];
}

/** Vega-Lite spec of the ratio chart. */
export function ratioSpec(rows: readonly Row[], title: string): TopLevelSpec {
  const compared = rows.filter((r) => ratioOf(r) !== undefined);
  const colour = seriesScale(compared);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: "memshare against raw baselines, same run",
      subtitle: [
        title,
        "bar: ratio to the row's baseline; black tick: the project's target; dashed line: 1× (= the baseline);",
        `bars beyond ${RATIO_CAP}× are cut off (▸) with the value written`,
      ],
    },
    config: BASE_CONFIG,
    vconcat: sectionsOf(compared).map((section) =>
      ratioPanel(
        section,
        compared.filter((r) => r.section === section),
        colour,
      )
    ),
    resolve: { scale: { x: "independent", y: "independent" } },
  } as unknown as TopLevelSpec;
}

/** A latency in µs for a label: 3 significant digits at most. */
export function micros(ns: number): string {
  const us = ns / 1e3;
  return us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2);
}

/** A band axis whose labels are split into lines at `\n`. */
export const MULTILINE_AXIS = {
  labelExpr: "split(datum.label, '\\n')",
  labelLimit: 400,
  labelLineHeight: 14,
  labelPadding: 6,
} as const;

/**
 * Ticks for a log axis from `from` to `to`: each decade times `multipliers`
 * (Vega's own log ticks crowd on a narrow axis).
 */
export function logTicks(
  from: number,
  to: number,
  multipliers: readonly number[],
): number[] {
  const ticks: number[] = [];
  const last = Math.ceil(Math.log10(to));
  for (let e = Math.floor(Math.log10(from)); e <= last; e++) {
    for (const m of multipliers) {
      const v = m * 10 ** e;
      if (v >= from && v <= to) ticks.push(v);
    }
  }
  return ticks;
}

/** The band encodings of a chart with a row per label and a bar per series. */
export function bandRows(
  labels: readonly string[],
  series: readonly string[],
) {
  return {
    y: {
      field: "key",
      type: "nominal",
      sort: labels,
      title: null,
      axis: MULTILINE_AXIS,
    },
    yOffset: { field: "series", type: "nominal", scale: { domain: series } },
  } as const;
}

/**
 * Vega-Lite spec of the hand-off latency chart: a dark p50 bar over a pale
 * p99 bar per variant and series, in µs on a log scale. Rows saved before
 * p99 was measured get no pale bar (drawing their p90 there would pass it
 * off as p99).
 *
 * @example
 * ```ts
 * const svg = await renderSvg(handoffSpec(rows, "quick run"));
 * ```
 */
export function handoffSpec(rows: readonly Row[], title: string): TopLevelSpec {
  const handoffs = rows.filter((r) => r.section === "hand-off");
  const colour = seriesScale(handoffs);
  const keyOf = (operation: string) => wrap(operation, 40).join("\n");
  const labels = [...new Set(handoffs.map((r) => keyOf(r.operation)))];
  const values = handoffs.map((row) => ({
    key: keyOf(row.operation),
    series: seriesOf(row),
    p50: row.value / 1e3,
    p99: row.p99 === undefined ? null : row.p99 / 1e3,
    /** Where the bars end: the text goes past it. */
    end: (row.p99 ?? row.value) / 1e3,
    text: `${micros(row.value)}${
      row.p99 === undefined ? "" : ` / ${micros(row.p99)}`
    } µs`,
  }));
  const lowest = Math.min(...values.map((v) => v.p50));
  const highest = Math.max(...values.map((v) => v.end));
  const from = 10 ** Math.floor(Math.log10(Math.max(lowest, 1e-3) / 1.5));
  const to = highest * 3;
  const { y, yOffset } = bandRows(labels, colour.domain);
  const scale = { type: "log", domain: [from, to], nice: false };
  const ticks = logTicks(from, to, [1, 2, 5]);
  const color = {
    field: "series",
    type: "nominal",
    scale: colour,
    title: "runtime",
    legend: { symbolOpacity: 1 },
  } as const;
  const perOp = Math.max(2, colour.domain.length) * 16 + 18;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text:
        "Hand-off latency: one process releases, the other's acquire returns",
      subtitle: [
        title,
        "dark bar: p50; pale bar: p99; written: p50 / p99 in µs (p90 is in the table). Log scale. The holder keeps",
        "the lock 1–8 ms each round, so the waiter is really asleep when the lock is released.",
      ],
    },
    config: BASE_CONFIG,
    width: 560,
    height: labels.length * perOp,
    data: { values },
    encoding: { y, yOffset },
    layer: [
      {
        transform: [{ filter: "datum.p99 !== null" }],
        mark: { type: "bar", opacity: 0.35, height: { band: 1 } },
        encoding: {
          // The axis is set on the p50 layer, which every row has.
          x: { field: "p99", type: "quantitative", scale },
          x2: { datum: from },
          color,
        },
      },
      {
        mark: { type: "bar", height: { band: 0.6 } },
        encoding: {
          x: {
            field: "p50",
            type: "quantitative",
            scale,
            title:
              "µs from release() to the waiter's acquire returning (log scale; lower is better)",
            axis: { grid: true, format: "~s", values: ticks },
          },
          x2: { datum: from },
          color,
        },
      },
      {
        mark: {
          type: "text",
          align: "left",
          baseline: "middle",
          dx: 4,
          fontSize: 11,
        },
        encoding: {
          x: { field: "end", type: "quantitative", scale },
          text: { field: "text" },
        },
      },
    ],
  } as unknown as TopLevelSpec;
}

/** Writes every chart for `rows` into `dir`; returns the files written. */
export async function writeCharts(
  rows: readonly Row[],
  dir: string,
  title: string,
): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const charts: [string, TopLevelSpec | null][] = [
    [
      "ratios.svg",
      rows.some((r) => ratioOf(r) !== undefined)
        ? ratioSpec(rows, title)
        : null,
    ],
    [
      "handoff.svg",
      rows.some((r) => r.section === "hand-off")
        ? handoffSpec(rows, title)
        : null,
    ],
  ];
  for (const [name, spec] of charts) {
    if (spec === null) continue;
    const path = join(dir, name);
    writeFileSync(path, await renderSvg(spec));
    written.push(path);
  }
  return written;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const positional = args.filter((a) => !a.startsWith("--"));
  if (positional.length === 0) {
    console.error(
      "usage: deno run -A bench/charts.ts ROWS.json [OUTDIR] [--title=TEXT]",
    );
    process.exit(2);
  }
  const rows = JSON.parse(readFileSync(positional[0], "utf8")) as Row[];
  const title = args.find((a) => a.startsWith("--title="))?.slice(8) ??
    `from ${positional[0]}`;
  for (
    const path of await writeCharts(rows, positional[1] ?? CHARTS_DIR, title)
  ) {
    console.log(path);
  }
}
