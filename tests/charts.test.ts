/**
 * The pictures and the progress line, without running anything measured:
 * the demo's Gantt chart and the benchmark's charts drawn from fixed rows
 * (an `<svg>` root, every row and legend named, bar lengths that follow the
 * input, the hand-off chart's p99), the hand-off table's p99 column, and
 * bench/progress.ts writing to a fake terminal and to a fake pipe.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeCharts } from "../bench/charts.ts";
import { Progress, type ProgressSink } from "../bench/progress.ts";
import { markdownTable, type Row } from "../bench/table.ts";
import { DESK_LOCKS } from "../examples/desk.ts";
import { type GanttBot, ganttSvg } from "../examples/gantt.ts";
import type { TurnRow } from "../examples/timeline.ts";
import { tempDir } from "./helpers.ts";

/** A bar of a rendered chart: its accessible label and its drawn width. */
interface Bar {
  label: string;
  width: number;
}

/** Every bar mark of `svg` (vega writes each as a `<path>` with `h<width>`). */
function barsOf(svg: string): Bar[] {
  const bars: Bar[] = [];
  const pattern =
    /<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="bar"[^>]*? d="M[-\d.e]+,[-\d.e]+h([-\d.e]+)/g;
  for (const match of svg.matchAll(pattern)) {
    bars.push({ label: match[1], width: Number(match[2]) });
  }
  return bars;
}

/** The text of every `<text>`/`<tspan>` of `svg`, unescaped enough for labels. */
function textsOf(svg: string): string[] {
  return [...svg.matchAll(/>([^<>]+)<\/(?:text|tspan)>/g)].map((m) =>
    m[1].replaceAll("&amp;", "&").replaceAll("&#x27;", "'")
  );
}

/** Asserts that `ratios` are all equal (to a millionth): a common scale factor. */
function assertProportional(ratios: number[], what: string): void {
  assert.ok(ratios.length >= 2, `${what}: too few bars to compare`);
  for (const r of ratios) {
    assert.ok(
      Math.abs(r / ratios[0] - 1) < 1e-6,
      `${what}: widths not proportional (${ratios.join(", ")})`,
    );
  }
}

/** Numeric order for `sort`. */
const byValue = (a: number, b: number): number => a - b;

const T0 = 1_700_000_000_000;

function turn(
  bot: string,
  runtime: string,
  lock: TurnRow["lock"],
  atS: number,
  waitedS: number,
  heldS: number,
): TurnRow {
  return {
    at: T0 + atS * 1000,
    bot,
    runtime,
    lock,
    waited: waitedS * 1000,
    held: heldS * 1000,
    did: "test",
  };
}

const BOTS: GanttBot[] = [
  {
    bot: "alpha",
    runtime: "deno",
    turns: [
      turn("alpha", "deno", "mouse", 0.5, 0, 0.25),
      turn("alpha", "deno", "window", 2, 0.5, 1),
    ],
  },
  {
    bot: "beta",
    runtime: "bun",
    turns: [turn("beta", "bun", "clipboard", 1, 0.2, 0.4)],
  },
  {
    bot: "gamma",
    runtime: "bun",
    turns: [turn("gamma", "bun", "mouse", 3, 0, 0.75)],
  },
];

test("the demo's Gantt chart: a row per bot, its lanes named, both legends, bar lengths as timed", async () => {
  const svg = await ganttSvg(BOTS, T0, 4, 0);
  assert.match(svg, /^<svg[\s>]/);
  const texts = textsOf(svg);
  for (const bot of BOTS) {
    assert.ok(
      texts.includes(`${bot.bot} · ${bot.runtime}`),
      `row label of ${bot.bot}`,
    );
  }
  for (const legend of ["runtime", "deno", "bun", "mouse held"]) {
    assert.ok(texts.includes(legend), `legend entry ${legend}`);
  }
  // Each bot's row names its lanes.
  for (const lock of DESK_LOCKS) {
    assert.equal(texts.filter((t) => t === lock).length, BOTS.length, lock);
  }
  const bars = barsOf(svg).map((bar) => {
    const m =
      /seconds since the bots started: ([\d.]+); row: ([^;]+); end: ([\d.]+)/
        .exec(bar.label);
    assert.ok(m !== null, `bar label: ${bar.label}`);
    return { ...bar, row: m[2], seconds: Number(m[3]) - Number(m[1]) };
  });
  // A held bar per turn and a grey bar per turn that waited.
  const expected = BOTS.flatMap((b) => b.turns)
    .reduce((n, t) => n + 1 + (t.waited > 0 ? 1 : 0), 0);
  assert.equal(bars.length, expected);
  for (const bot of BOTS) {
    assert.ok(bars.some((bar) => bar.row === `${bot.bot} · ${bot.runtime}`));
  }
  assertProportional(bars.map((b) => b.width / b.seconds), "gantt");
  // 0.25 s and 1 s are 4× apart on the page too.
  const quarter = bars.find((b) => Math.abs(b.seconds - 0.25) < 1e-9)!;
  const second = bars.find((b) => Math.abs(b.seconds - 1) < 1e-9)!;
  assert.ok(Math.abs(second.width / quarter.width - 4) < 1e-6);
});

/** Hand-off rows as bench/handoff.ts makes them (values in ns). */
const HANDOFF_ROWS: Row[] = [
  {
    section: "hand-off",
    operation: "raw flock, main thread",
    runtime: "deno",
    unit: "ns",
    value: 50_000,
    p90: 80_000,
    p99: 100_000,
  },
  {
    section: "hand-off",
    operation: "await acquire()",
    runtime: "deno",
    unit: "ns",
    value: 200_000,
    p90: 300_000,
    p99: 1_000_000,
    baseline: { name: "raw flock, pool", value: 100_000 },
    target: { compare: "<=", ratio: 2 },
  },
  {
    section: "hand-off",
    operation: "await acquire()",
    runtime: "bun",
    unit: "ns",
    value: 150_000,
    p90: 400_000,
    p99: 600_000,
    baseline: { name: "raw flock, Worker", value: 100_000 },
    target: { compare: "<=", ratio: 2 },
  },
  {
    // Saved before p99 was measured: drawn without a pale bar.
    section: "hand-off",
    operation: "FsFile.lock()",
    runtime: "deno",
    unit: "ns",
    value: 400_000,
    p90: 500_000,
  },
];

test("bench charts: hand-off p50 and p99 bars on a log scale, ratios per runtime", async () => {
  const dir = tempDir();
  try {
    const written = await writeCharts(HANDOFF_ROWS, dir.path, "test rows");
    assert.deepEqual(written, [
      join(dir.path, "ratios.svg"),
      join(dir.path, "handoff.svg"),
    ]);
    const handoff = readFileSync(join(dir.path, "handoff.svg"), "utf8");
    assert.match(handoff, /^<svg[\s>]/);
    const texts = textsOf(handoff);
    for (const row of HANDOFF_ROWS) {
      assert.ok(texts.includes(row.operation), `row label ${row.operation}`);
    }
    for (const legend of ["runtime", "deno", "bun"]) {
      assert.ok(texts.includes(legend), `legend entry ${legend}`);
    }
    assert.ok(texts.some((t) => t.includes("pale bar: p99")));
    assert.ok(texts.includes("200 / 1000 µs"), "p50 / p99 written");
    assert.ok(texts.includes("400 µs"), "a row without p99: p50 only");

    const bars = barsOf(handoff).map((bar) => {
      const m = /^(p99|µs from [^:]*): ([\d.e+-]+);.*series: (\w+)/.exec(
        bar.label,
      );
      assert.ok(m !== null, `bar label: ${bar.label}`);
      return { ...bar, p99: m[1] === "p99", us: Number(m[2]) };
    });
    const p50s = bars.filter((b) => !b.p99).map((b) => b.us).sort(byValue);
    const p99s = bars.filter((b) => b.p99).map((b) => b.us).sort(byValue);
    assert.deepEqual(p50s, [50, 150, 200, 400]);
    assert.deepEqual(p99s, [100, 600, 1000]);
    // Log scale from 10 µs (a decade under the lowest p50 / 1.5): a bar's
    // length is proportional to log10(value / 10 µs).
    assertProportional(
      bars.map((b) => b.width / Math.log10(b.us / 10)),
      "hand-off",
    );

    const ratios = readFileSync(join(dir.path, "ratios.svg"), "utf8");
    assert.match(ratios, /^<svg[\s>]/);
    const ratioTexts = textsOf(ratios);
    assert.ok(ratioTexts.includes("2.00×") && ratioTexts.includes("1.50×"));
    assert.equal(barsOf(ratios).length, 2, "a ratio bar per compared row");
  } finally {
    dir.remove();
  }
});

test("the results table prints p99 beside p50 and p90", () => {
  const lines = markdownTable(HANDOFF_ROWS).split("\n");
  assert.match(lines[0], /\| median \/ p50 \| p90 \| p99 \|/);
  const row = lines.find((l) => l.includes("await acquire() | deno"))!;
  assert.match(row, /\| 200\.0 µs \| 300\.0 µs \| 1\.00 ms \|/);
  const old = lines.find((l) => l.includes("FsFile.lock()"))!;
  assert.match(old, /\| 400\.0 µs \| 500\.0 µs \| {2}\|/);
});

/** A sink that records what is written to it. */
function fakeSink(isTTY: boolean, columns?: number): ProgressSink & {
  chunks: string[];
} {
  const chunks: string[] = [];
  return { chunks, isTTY, columns, write: (text) => chunks.push(text) };
}

/** What a terminal redraw starts with: back to column 0, erase the line. */
const CLEAR = "\r\x1b[2K";

/** The line drawn by a terminal redraw (asserting it is one). */
function redrawn(chunk: string): string {
  assert.ok(chunk.startsWith(CLEAR), `not a redraw: ${JSON.stringify(chunk)}`);
  return chunk.slice(CLEAR.length);
}

test("progress on a terminal: one line rewritten in place, logs above it", () => {
  const sink = fakeSink(true, 60);
  const progress = new Progress("bench", 4, sink);
  assert.equal(progress.live, true);
  progress.step("deno: hand-off");
  assert.equal(sink.chunks.length, 1);
  assert.match(
    redrawn(sink.chunks[0]),
    /^\[bench\] 1\/4 \(0 %\) \d:\d\d deno: hand-off$/,
  );
  progress.update("12 s of 30 s");
  assert.match(
    redrawn(sink.chunks[1]),
    /^\[bench\] 1\/4 .* deno: hand-off — 12 s of 30 s$/,
  );
  progress.step("bun: hand-off");
  assert.match(
    redrawn(sink.chunks[2]),
    /^\[bench\] 2\/4 \(25 %\) .* bun: hand-off$/,
  );
  // A log line clears the progress line, prints, then draws it again.
  progress.log("[run] suite under bun");
  assert.deepEqual(sink.chunks.slice(3, 5), [CLEAR, "[run] suite under bun\n"]);
  assert.match(redrawn(sink.chunks[5]), /^\[bench\] 2\/4 .* bun: hand-off$/);
  // Longer than the terminal: cut to its width less one, with an ellipsis.
  progress.step(`deno: ${"x".repeat(100)}`);
  const drawn = redrawn(sink.chunks[6]);
  assert.equal(drawn.length, 59);
  assert.ok(drawn.endsWith("…"));
  // More steps than expected: the total grows with them.
  progress.step("five");
  assert.match(redrawn(sink.chunks[7]), /^\[bench\] 4\/4 .* five$/);
  progress.step("six");
  assert.match(redrawn(sink.chunks[8]), /^\[bench\] 5\/5 \(80 %\) .* six$/);
  progress.finish("measured in 3 s");
  assert.deepEqual(sink.chunks.slice(9), [
    CLEAR,
    "[bench] measured in 3 s\n",
  ]);
});

test("progress off a terminal: a plain line per step, no escape codes", () => {
  const sink = fakeSink(false);
  const progress = new Progress("stress", 2, sink);
  assert.equal(progress.live, false);
  progress.step("running for 3 s");
  progress.update("1 s of 3 s"); // left out off a terminal
  progress.update("2 s of 3 s", true);
  progress.log("a log line");
  progress.step("stopping");
  progress.finish("done");
  assert.equal(sink.chunks.length, 5);
  assert.ok(sink.chunks.every((c) => !c.includes("\x1b") && !c.includes("\r")));
  assert.ok(sink.chunks.every((c) => c.endsWith("\n")));
  assert.match(
    sink.chunks[0],
    /^\[stress\] 1\/2 \(0 %\) \d:\d\d running for 3 s\n$/,
  );
  assert.match(
    sink.chunks[1],
    /^\[stress\] 1\/2 .* running for 3 s — 2 s of 3 s\n$/,
  );
  assert.equal(sink.chunks[2], "a log line\n");
  assert.match(sink.chunks[3], /^\[stress\] 2\/2 \(50 %\) \d:\d\d stopping\n$/);
  assert.equal(sink.chunks[4], "[stress] done\n");
});

test("progress with no expected total shows no count", () => {
  const sink = fakeSink(false);
  const progress = new Progress("bench", 0, sink);
  progress.step("one");
  progress.finish();
  assert.deepEqual(sink.chunks.length, 1);
  assert.match(sink.chunks[0], /^\[bench\] \d:\d\d one\n$/);
});
