/**
 * The Redis benchmarks' chart, `redis.svg`: from rows saved by
 * `bench/redis.ts --save=FILE` and `bench/redis_handoff.ts --save=FILE`
 * (Deno and Bun runs of either), three panels, a bar per runtime:
 *
 * - uncontended acquire + release p50 per locker (memshare at 64 B and
 *   64 KiB of shared memory);
 * - hand-off p50 per locker against the `LPUSH` → `BLPOP` floor;
 * - throughput of 4 contending processes per locker.
 *
 * Each bar says its value and its ratio to the same run's raw floor. A
 * panel whose values span more than 20× is drawn on a log scale.
 *
 * Usage: `deno run -A bench/redis_charts.ts FILE... [--out=DIR]
 * [--title=TEXT]` (also `bun bench/redis_charts.ts …`); writes
 * `DIR/redis.svg` (default `bench/charts/`). `--title` adds a line to the
 * subtitle (say, that the runs were a smoke test).
 *
 * @module
 */

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import type { TopLevelSpec } from "vega-lite";
import {
  bandRows,
  CHARTS_DIR,
  logTicks,
  seriesColours,
  wrap,
} from "./charts.ts";
import type { RedisResults, RedisRow } from "./redis_rows.ts";
import { BASE_CONFIG, renderSvg } from "./vega_svg.ts";

/** Panels in order: section, title, axis title, floor's name. */
const PANELS: [RedisRow["section"], string, string, string][] = [
  [
    "uncontended",
    "Uncontended: acquire + release in one process, p50",
    "time per acquire + release (lower is better)",
    "raw",
  ],
  [
    "hand-off",
    "Hand-off p50: release in one process → acquire returns in the other",
    "time from release to the waiter's acquire returning (lower is better)",
    "LPUSH → BLPOP",
  ],
  [
    "contended",
    "Contended: 4 processes looping acquire + release on one lock",
    "acquisitions per second, all 4 processes (higher is better)",
    "raw",
  ],
];

/** Row labels in order per section, by the row's kind and bytes. */
function labelOf(row: RedisRow): string {
  if (row.kind === "raw") {
    return row.section === "uncontended"
      ? "raw floor\n  SET NX PX + EVALSHA"
      : "raw floor\n  SET NX PX, retried at once";
  }
  if (row.kind === "LPUSH→BLPOP") return "raw floor\n  LPUSH → BLPOP";
  if (row.kind === "fenced") {
    return "least fenced pair\n  2 scripts, plain client";
  }
  if (row.kind === "memshare" && row.bytes !== undefined) {
    return `memshare, ${
      row.bytes >= 1024 ? `${row.bytes / 1024} KiB` : `${row.bytes} B`
    }`;
  }
  return row.kind;
}

/** A value for a bar's text: 3 significant digits at most, with its unit. */
function shown(row: RedisRow): string {
  if (row.unit === "/s") return `${row.value.toFixed(0)} /s`;
  const us = row.value;
  if (us >= 10_000) return `${(us / 1000).toFixed(0)} ms`;
  if (us >= 1000) return `${(us / 1000).toFixed(1)} ms`;
  return `${us >= 100 ? us.toFixed(0) : us.toFixed(1)} µs`;
}

/** Ratio text: `2.22×`, `361×`. */
function times(ratio: number): string {
  return ratio >= 100
    ? `${ratio.toFixed(0)}×`
    : ratio >= 10
    ? `${ratio.toFixed(1)}×`
    : `${ratio.toFixed(2)}×`;
}

function panel(
  rows: readonly RedisRow[],
  [section, title, axisTitle, floor]: (typeof PANELS)[number],
  colour: { domain: string[]; range: string[] },
) {
  const mine = rows.filter((r) => r.section === section);
  const labels = [...new Set(mine.map(labelOf))];
  const values = mine.map((row) => ({
    key: labelOf(row),
    series: row.runtime,
    value: row.value,
    opacity: ["raw", "LPUSH→BLPOP", "fenced"].includes(row.kind) ? 0.5 : 1,
    text: `${shown(row)} · ${times(row.ratio)}`,
  }));
  const lowest = Math.min(...values.map((v) => v.value));
  const highest = Math.max(...values.map((v) => v.value));
  const log = highest / lowest > 20;
  // Room right of the longest bar for its text (about 110 px of 560).
  const from = log ? 10 ** Math.floor(Math.log10(lowest / 1.5)) : 0;
  const to = log
    ? 10 **
      (Math.log10(highest) + (Math.log10(highest) - Math.log10(from)) * 0.28)
    : highest * 1.3;
  const scale = log
    ? { type: "log", domain: [from, to], nice: false }
    : { domain: [0, to], nice: false };
  const unitUs = mine[0]?.unit === "µs";
  const labelExpr = unitUs
    ? "datum.value >= 1e6 ? format(datum.value / 1e6, '~g') + ' s' : datum.value >= 1000 ? format(datum.value / 1000, '~g') + ' ms' : format(datum.value, '~g') + ' µs'"
    : "format(datum.value, ',~g')";
  const axis = log
    ? {
      grid: true,
      // Powers of ten over wide spans, else 1-3-10.
      values: logTicks(
        from,
        to,
        Math.ceil(Math.log10(to)) - Math.floor(Math.log10(from)) > 3
          ? [1]
          : [1, 3],
      ),
      labelExpr,
    }
    // At most 8 ticks: "1,000 1,200 …" ran together past 2,000 /s.
    : { grid: true, labelExpr, tickCount: 8 };
  const { y, yOffset } = bandRows(labels, colour.domain);
  const x = { field: "value", type: "quantitative", scale } as const;
  const perOp = Math.max(2, colour.domain.length) * 16 + 18;
  return {
    title: {
      text: title,
      subtitle:
        `written: the value · its ratio to the same run's ${floor} floor${
          log ? " — log scale" : ""
        }`,
      fontSize: 14,
      subtitleFontSize: 11.5,
    },
    width: 560,
    height: labels.length * perOp,
    data: { values },
    encoding: { y, yOffset },
    layer: [
      {
        mark: { type: "bar", height: { band: 1 } },
        encoding: {
          x: {
            ...x,
            title: `${axisTitle}${log ? ", log scale" : ""}`,
            axis,
          },
          x2: { datum: from },
          color: {
            field: "series",
            type: "nominal",
            scale: colour,
            title: "runtime",
          },
          opacity: { field: "opacity", type: "quantitative", scale: null },
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
        encoding: { x, text: { field: "text" } },
      },
    ],
  };
}

/** The command that made one saved run. */
function commandOf(run: RedisResults): string {
  const env = Object.entries(run.env).map(([k, v]) => `${k}=${v} `).join("");
  const runner = run.runtime === "deno" ? "deno run -A" : "bun";
  return `${env}${runner} ${run.script}`;
}

/** Vega-Lite spec of `redis.svg` from saved runs. */
export function redisSpec(
  runs: readonly RedisResults[],
  drawnBy: string,
  note?: string,
): TopLevelSpec {
  const rows = runs.flatMap((r) => r.rows);
  const colour = seriesColours(rows.map((r) => r.runtime));
  const made = runs.map((r) =>
    `${r.runtime} ${r.version}: ${commandOf(r)} at ${
      r.date.slice(0, 16).replace("T", " ")
    } UTC (load ${r.host.load[0].toFixed(1)}, ${r.host.cpus} CPUs)`
  );
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text:
        "Redis lock: memshare against redis-semaphore, redlock and the raw floor, same run",
      subtitle: [
        ...(note === undefined ? [] : wrap(note, 110)),
        ...made,
        ...wrap(`drawn by: ${drawnBy}`, 110).map((line, i) =>
          i === 0 ? line : `    ${line}`
        ),
        "pale bar: the run's raw floor (1×); loopback redis-server started by the benchmark",
      ],
    },
    // Room on the right for the legend's bold title (estimated as regular).
    config: {
      ...BASE_CONFIG,
      padding: { left: 12, top: 12, bottom: 12, right: 28 },
    },
    vconcat: PANELS.filter(([section]) =>
      rows.some((r) => r.section === section)
    ).map((p) => panel(rows, p, colour)),
    resolve: { scale: { x: "independent", y: "independent" } },
  } as unknown as TopLevelSpec;
}

/** Reads saved runs; a later run of the same script and runtime wins. */
export function readRuns(files: readonly string[]): RedisResults[] {
  const byKey = new Map<string, RedisResults>();
  for (const file of files) {
    const run = JSON.parse(readFileSync(file, "utf8")) as RedisResults;
    if (!Array.isArray(run.rows) || typeof run.script !== "string") {
      throw new Error(
        `${file}: not a file written by bench/redis.ts or bench/redis_handoff.ts --save=FILE`,
      );
    }
    const key = `${run.script} ${run.runtime}`;
    if (byKey.has(key)) {
      console.error(`[redis_charts] ${file} replaces an earlier ${key} run`);
    }
    byKey.set(key, run);
  }
  const order = (r: RedisResults) =>
    (r.script.includes("handoff") ? 2 : 0) + (r.runtime === "deno" ? 0 : 1);
  return [...byKey.values()].sort((a, b) => order(a) - order(b));
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const files = args.filter((a) => !a.startsWith("--"));
  if (files.length === 0) {
    console.error(
      "usage: deno run -A bench/redis_charts.ts FILE... [--out=DIR] [--title=TEXT]",
    );
    process.exit(2);
  }
  const out = args.find((a) => a.startsWith("--out="))?.slice(6) ?? CHARTS_DIR;
  const note = args.find((a) => a.startsWith("--title="))?.slice(8);
  const runner = (globalThis as { Deno?: unknown }).Deno
    ? "deno run -A"
    : "bun";
  const drawnBy = `${runner} bench/redis_charts.ts ${
    args.filter((a) => !a.startsWith("--title=")).join(" ")
  }`;
  mkdirSync(out, { recursive: true });
  const path = join(out, "redis.svg");
  writeFileSync(
    path,
    await renderSvg(redisSpec(readRuns(files), drawnBy, note)),
  );
  console.log(path);
}
