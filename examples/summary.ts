/**
 * The demo's closing report: turns and waits per bot, and the checks that
 * no two holders ever overlapped and no update was lost.
 *
 * @module
 */

import { renderTable } from "../src/cli/table.ts";
import { DESK_LOCKS, type DeskLock } from "./desk.ts";
import type { TurnRow } from "./timeline.ts";

/** A bot as the summary sees it. */
export interface BotResult {
  /** Bot name. */
  readonly bot: string;
  /** Runtime running it. */
  readonly runtime: string;
  /** Its turns, in any order. */
  readonly turns: readonly TurnRow[];
}

/** The `p`-th percentile (0..1, nearest rank) of `values`; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

/** The per-bot table: turns per lock, wait p50/p99/max, and a row for all bots. */
export function botTable(bots: readonly BotResult[]): string {
  const line = (name: string, runtime: string, turns: readonly TurnRow[]) => {
    const waits = turns.map((turn) => turn.waited);
    return [
      name,
      runtime,
      String(turns.length),
      ...DESK_LOCKS.map((lock) =>
        String(turns.filter((turn) => turn.lock === lock).length)
      ),
      ms(percentile(waits, 0.5)),
      ms(percentile(waits, 0.99)),
      ms(percentile(waits, 1)),
    ];
  };
  const all = bots.flatMap((bot) => bot.turns);
  return renderTable(
    [
      { title: "bot" },
      { title: "runtime" },
      { title: "turns", align: "right" },
      ...DESK_LOCKS.map((lock) => ({ title: lock, align: "right" as const })),
      { title: "wait p50", align: "right" },
      { title: "wait p99", align: "right" },
      { title: "wait max", align: "right" },
    ],
    [
      ...bots.map((bot) => line(bot.bot, bot.runtime, bot.turns)),
      line("all", "", all),
    ],
    "  ",
  );
}

/** Turns per lock over all bots. */
export function turnsPerLock(
  bots: readonly BotResult[],
): Record<DeskLock, number> {
  const counts = { window: 0, mouse: 0, clipboard: 0 };
  for (const bot of bots) {
    for (const turn of bot.turns) counts[turn.lock]++;
  }
  return counts;
}

function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}
