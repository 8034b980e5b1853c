/**
 * The raw C baselines: compiles bench/baseline.c with the system C compiler
 * into a temporary directory and runs its three modes. Returns no rows (and
 * says why) when there is no compiler.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { cContendedName, CONTENDED_PROCS } from "./contended.ts";
import { C_HANDOFF } from "./handoff.ts";
import { benchScript } from "./proc.ts";
import { quantile } from "./stats.ts";
import type { Row } from "./table.ts";
import { C_PAIR } from "./uncontended.ts";

/** Sizes of the C runs. */
export interface CPlan {
  /** Batches of the uncontended pair. */
  batches: number;
  /** Pairs per batch. */
  perBatch: number;
  /** Measured hand-offs. */
  rounds: number;
  /** Hand-offs discarded first. */
  warmup: number;
  /** Duration of each contended run, ms. */
  durationMs: number;
}

function run(binary: string, args: (string | number)[]): unknown {
  return JSON.parse(
    execFileSync(binary, args.map(String), {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    }),
  );
}

/** Compiles and runs the C baselines in `dir`; logs and returns [] without a compiler. */
export function cBaselines(
  dir: string,
  plan: CPlan,
  log: (message: string) => void,
): Row[] {
  const binary = join(dir, "baseline");
  const compiler = process.env.CC ?? "gcc";
  try {
    execFileSync(compiler, [
      "-O2",
      "-std=c11",
      "-Wall",
      "-o",
      binary,
      benchScript("baseline.c"),
    ], { stdio: ["ignore", "ignore", "inherit"] });
  } catch (error) {
    log(`no C baselines: ${compiler} failed: ${error}`);
    return [];
  }
  const rows: Row[] = [];
  const lockFile = (name: string) => join(dir, `${name}.lock`);

  log("C: uncontended pair");
  const pair = run(binary, [
    "pair",
    plan.batches,
    plan.perBatch,
    lockFile("pair"),
  ]) as { samples: number[] };
  rows.push({
    section: "uncontended",
    operation: C_PAIR,
    runtime: "C",
    unit: "ns",
    value: quantile(pair.samples, 0.5),
    p90: quantile(pair.samples, 0.9),
    notes: `${plan.batches} batches × ${plan.perBatch}`,
  });

  log("C: hand-off");
  const handoff = run(binary, [
    "handoff",
    plan.rounds,
    plan.warmup,
    lockFile("handoff"),
  ]) as { samples: number[] };
  rows.push({
    section: "hand-off",
    operation: C_HANDOFF,
    runtime: "C",
    unit: "ns",
    value: quantile(handoff.samples, 0.5),
    p90: quantile(handoff.samples, 0.9),
    p99: quantile(handoff.samples, 0.99),
    notes: `${handoff.samples.length} hand-offs, holder keeps 1–8 ms`,
  });

  for (const procs of CONTENDED_PROCS) {
    log(`C: contended, ${procs} procs`);
    const c = run(binary, [
      "contended",
      procs,
      plan.durationMs,
      lockFile(`contended-${procs}`),
    ]) as { counter: number; counts: number[]; seconds: number };
    const sum = c.counts.reduce((a, b) => a + b, 0);
    const ok = sum === c.counter;
    rows.push({
      section: "contended",
      operation: cContendedName(procs),
      runtime: "C",
      unit: "op/s",
      value: c.counter / c.seconds,
      ok,
      notes: `counter ${c.counter} ${ok ? "=" : "≠"} Σ per-process ${sum} ${
        ok ? "✓" : "✗ LOST UPDATES"
      }; shares ${c.counts.map((n) => Math.round(100 * n / sum)).join("/")} %`,
    });
  }
  return rows;
}
