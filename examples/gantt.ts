/**
 * The demo's timeline as a picture: an SVG Gantt chart with a row per bot
 * (its runtime beside its name), a lane per lock in each row (named at its
 * left, so the chart reads without its subtitle), a bar for
 * every turn a lock was held and a grey bar for the wait in `acquire()`
 * before it. Drawn with Vega-Lite (a dev dependency, rendered headlessly;
 * see bench/vega_svg.ts).
 *
 * @module
 */

import type { TopLevelSpec } from "vega-lite";
import { BASE_CONFIG, renderSvg } from "../bench/vega_svg.ts";
import { DESK_LOCKS } from "./desk.ts";
import type { TurnRow } from "./timeline.ts";

/** A bot as the chart sees it. */
export interface GanttBot {
  /** Bot name. */
  readonly bot: string;
  /** Runtime running it. */
  readonly runtime: string;
  /** Its turns. */
  readonly turns: readonly TurnRow[];
}

const LOCK_COLOURS: Record<string, string> = {
  window: "#4c78a8",
  mouse: "#54a24b",
  clipboard: "#b279a2",
};
const WAITING = "waiting in acquire()";
/** Pixels between a bot's name and the plot: the widest lane name and a gap. */
const LANE_LABEL_ROOM = 66;
const RUNTIME_COLOURS: Record<string, string> = {
  deno: "#1a1a1a",
  bun: "#c8570f",
};

/**
 * The Vega-Lite spec of the chart; times in seconds since `t0` (ms since
 * the epoch); `overlaps` is what the demo's checks counted.
 */
export function ganttSpec(
  bots: readonly GanttBot[],
  t0: number,
  seconds: number,
  overlaps: number,
): TopLevelSpec {
  const rowOf = (bot: GanttBot) => `${bot.bot} · ${bot.runtime}`;
  const what = (lock: string) => `${lock} held`;
  const values = bots.flatMap((bot) =>
    bot.turns.flatMap((turn) => {
      const taken = (turn.at - t0) / 1000;
      const bars = [{
        row: rowOf(bot),
        lock: turn.lock,
        what: what(turn.lock),
        start: taken,
        end: taken + turn.held / 1000,
      }];
      if (turn.waited > 0) {
        bars.unshift({
          row: rowOf(bot),
          lock: turn.lock,
          what: WAITING,
          start: taken - turn.waited / 1000,
          end: taken,
        });
      }
      return bars;
    })
  );
  const turns = bots.reduce((n, bot) => n + bot.turns.length, 0);
  const runtimes = [...new Set(bots.map((bot) => bot.runtime))];
  const labelColour =
    runtimes.map((r) =>
      `indexof(datum.label, '· ${r}') >= 0 ? '${RUNTIME_COLOURS[r] ?? "#555"}'`
    ).join(" : ") + " : '#555'";
  const end = Math.max(seconds, ...values.map((v) => v.end));
  const lane = 16;
  const y = {
    field: "row",
    type: "nominal",
    sort: bots.map(rowOf),
    title: null,
    scale: { paddingInner: 0.3, paddingOuter: 0.15 },
    axis: {
      labelFontSize: 13,
      labelFontWeight: "bold",
      labelColor: { expr: labelColour },
      // Room for the lane names drawn between the bot's name and the plot.
      labelPadding: LANE_LABEL_ROOM,
      domain: false,
      ticks: false,
    },
  } as const;
  const yOffset = {
    field: "lock",
    type: "nominal",
    scale: { domain: [...DESK_LOCKS] },
  } as const;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: "memshare demo: who held which lock, when",
      subtitle: [
        `${bots.length} bot processes (${
          runtimes.join(" and ")
        }), ${seconds} s, ${turns} turns. A row per bot, its runtime beside its name;`,
        `a lane per lock (${
          DESK_LOCKS.join(", ")
        }, named at its left); a coloured bar while the bot held the lock,`,
        `a grey bar while it waited in acquire() just before. Turns of one lock that overlapped: ${overlaps}${
          overlaps === 0 ? " (one holder at a time)" : " ✗"
        }.`,
      ],
    },
    config: BASE_CONFIG,
    width: 960,
    height: bots.length * (lane * DESK_LOCKS.length + 16),
    data: { values },
    layer: [
      {
        mark: { type: "bar", height: { band: 0.9 } },
        encoding: {
          y,
          yOffset,
          x: {
            field: "start",
            type: "quantitative",
            scale: { domain: [0, Math.ceil(end * 10) / 10], nice: false },
            title: "seconds since the bots started",
            axis: { grid: true, tickMinStep: 0.5 },
          },
          x2: { field: "end" },
          color: {
            field: "what",
            type: "nominal",
            title: null,
            scale: {
              domain: [...DESK_LOCKS.map(what), WAITING],
              range: [...DESK_LOCKS.map((l) => LOCK_COLOURS[l]), "#c4c4c4"],
            },
            legend: { orient: "bottom", direction: "horizontal" },
          },
        },
      },
      {
        // The lock's name left of each lane, outside the plot.
        data: {
          values: bots.flatMap((bot) =>
            DESK_LOCKS.map((lock) => ({ row: rowOf(bot), lock }))
          ),
        },
        mark: {
          type: "text",
          align: "right",
          baseline: "middle",
          dx: -6,
          fontSize: 10.5,
          color: "#666",
        },
        encoding: { y, yOffset, x: { value: 0 }, text: { field: "lock" } },
      },
      {
        // Invisible marks whose legend names each runtime's colour.
        data: { values: runtimes.map((runtime) => ({ runtime })) },
        mark: { type: "point", opacity: 0, filled: true },
        encoding: {
          color: {
            field: "runtime",
            type: "nominal",
            title: "runtime",
            scale: {
              domain: runtimes,
              range: runtimes.map((r) => RUNTIME_COLOURS[r] ?? "#555"),
            },
            legend: {
              orient: "right",
              symbolOpacity: 1,
              symbolType: "square",
            },
          },
        },
      },
    ],
    resolve: { scale: { color: "independent" } },
  } as unknown as TopLevelSpec;
}

/** The chart as an SVG document. */
export function ganttSvg(
  bots: readonly GanttBot[],
  t0: number,
  seconds: number,
  overlaps: number,
): Promise<string> {
  return renderSvg(ganttSpec(bots, t0, seconds, overlaps));
}
