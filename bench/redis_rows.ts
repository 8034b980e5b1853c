/**
 * The rows `bench/redis.ts` and `bench/redis_handoff.ts` print, as JSON
 * (`--save=FILE`), for `bench/redis_charts.ts` to draw.
 *
 * @module
 */

import { writeFileSync } from "node:fs";
import os from "node:os";
import process from "node:process";

/** One printed row. */
export interface RedisRow {
  /** Which table: uncontended / contended (`redis.ts`) or hand-off. */
  section: "uncontended" | "contended" | "hand-off";
  /** The row's label as printed. */
  operation: string;
  /** `"deno"` or `"bun"`. */
  runtime: string;
  /** `raw`, `memshare`, `redis-semaphore`, `redlock` or `LPUSH→BLPOP`. */
  kind: string;
  /** Shared bytes of a memshare row (uncontended rows only). */
  bytes?: number;
  /** p50 in µs (`unit: "µs"`) or acquisitions per second (`"/s"`). */
  value: number;
  unit: "µs" | "/s";
  /** `value` over the same run's raw floor (`raw`, or `LPUSH→BLPOP`). */
  ratio: number;
}

/** What `--save=FILE` writes: one run of one script. */
export interface RedisResults {
  /** `"bench/redis.ts"` or `"bench/redis_handoff.ts"`. */
  script: string;
  runtime: string;
  /** The runtime's version, e.g. `"2.9.6"`. */
  version: string;
  /** Environment knobs the run was given (`ROUNDS`, `HANDOFF_SCALE`). */
  env: Record<string, number>;
  /** ISO time the run finished. */
  date: string;
  host: { cpus: number; load: number[] };
  rows: RedisRow[];
}

/** The `--save=FILE` argument, if any. */
export function saveTarget(argv: readonly string[]): string | undefined {
  return argv.find((a) => a.startsWith("--save="))?.slice("--save=".length);
}

/** Writes one run's rows to `file` as {@link RedisResults}. */
export function saveResults(
  file: string,
  script: string,
  runtime: string,
  env: Record<string, number>,
  rows: RedisRow[],
): void {
  const versions = process.versions as Record<string, string | undefined>;
  const results: RedisResults = {
    script,
    runtime,
    version: (runtime === "deno" ? versions.deno : versions.bun) ?? "?",
    env,
    date: new Date().toISOString(),
    host: { cpus: os.cpus().length, load: os.loadavg() },
    rows,
  };
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.error(`[bench] rows written to ${file}`);
}
