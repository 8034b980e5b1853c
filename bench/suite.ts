/**
 * The benchmark suite for the runtime running it (Deno or Bun): runs the
 * sections in order and prints their rows as one JSON line after
 * `ROWS_MARKER` on stdout (progress goes to stderr). Started by bench/run.ts.
 *
 * Usage: `suite.ts [--quick] [--only=uncontended,handoff,contended,memory]`.
 *
 * @module
 */

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { contended } from "./contended.ts";
import { handoff } from "./handoff.ts";
import { memory } from "./memory.ts";
import { progress, tempDir } from "./proc.ts";
import type { BatchPlan } from "./stats.ts";
import type { Row } from "./table.ts";
import { uncontended } from "./uncontended.ts";

/** Prefix of the stdout line that carries the rows. */
export const ROWS_MARKER = "@@memshare-bench-rows ";

/** Sizes of one suite run. */
export interface SuitePlan {
  /** Uncontended and memory batches. */
  batches: BatchPlan;
  /** Measured hand-offs per variant. */
  rounds: number;
  /** Hand-offs discarded first. */
  warmup: number;
  /** Duration of each contended run, ms. */
  durationMs: number;
}

/** The full plan (about a minute per runtime) and the quick one (smoke test). */
export const PLANS: Record<"full" | "quick", SuitePlan> = {
  full: {
    batches: { batches: 30, maxPerBatch: 20_000, targetBatchMs: 60 },
    rounds: 400,
    warmup: 10,
    durationMs: 1000,
  },
  quick: {
    batches: { batches: 5, maxPerBatch: 2_000, targetBatchMs: 5 },
    rounds: 20,
    warmup: 4,
    durationMs: 200,
  },
};

/** Runs the selected sections of the suite with `plan`. */
export async function runSuite(
  plan: SuitePlan,
  only: readonly string[],
): Promise<Row[]> {
  const scratch = tempDir();
  const dir = (name: string) => {
    const path = join(scratch.path, name);
    mkdirSync(path);
    return path;
  };
  const want = (section: string) => only.length === 0 || only.includes(section);
  const rows: Row[] = [];
  try {
    if (want("uncontended")) {
      progress("uncontended pairs");
      rows.push(...await uncontended(dir("uncontended"), plan.batches));
    }
    if (want("handoff")) {
      rows.push(
        ...await handoff(dir("handoff"), plan.rounds, plan.warmup, progress),
      );
    }
    if (want("contended")) {
      rows.push(
        ...await contended(dir("contended"), plan.durationMs, progress),
      );
    }
    if (want("memory")) {
      progress("memory writes");
      rows.push(...await memory(dir("memory"), plan.batches));
    }
  } finally {
    scratch.remove();
  }
  return rows;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const plan = PLANS[args.includes("--quick") ? "quick" : "full"];
  const only = args.find((a) => a.startsWith("--only="))?.slice(7).split(",") ??
    [];
  const rows = await runSuite(plan, only);
  process.stdout.write(ROWS_MARKER + JSON.stringify(rows) + "\n");
  process.exit(0);
}
