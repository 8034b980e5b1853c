/**
 * (c) Contended throughput: N processes each loop "lock; counter++; unlock"
 * on one shared counter for a fixed time. memshare's counter lives in
 * `guard.memory`; the raw baseline's in a plain `MAP_SHARED` mapping, under
 * a blocking FFI `flock` loop. The final counter must equal the sum of the
 * per-process counts: no increment lost.
 *
 * @module
 */

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { MemoryShareLock } from "../mod.ts";
import { Control } from "./control.ts";
import { monoNs } from "./libc.ts";
import { runChild, RUNTIME } from "./proc.ts";
import type { Row } from "./table.ts";

/** The contended loop variants. */
export type LoopVariant = "memshare-async" | "memshare-sync" | "raw";

/** Row names of the loop variants. */
export const LOOP_NAMES: Record<LoopVariant, string> = {
  "memshare-async": "await acquire(); n++; await release()",
  "memshare-sync": "acquireSync(); n++; releaseSync()",
  "raw": "raw FFI flock(EX); n++ in plain mmap; flock(UN)",
};

/** Process counts of the contended runs (1 = the same loop without contention, for context). */
export const CONTENDED_PROCS = [1, 2, 4];

/** Name of the C row for `procs` processes. */
export function cContendedName(procs: number): string {
  return `${procs} proc${
    procs > 1 ? "s" : ""
  }: C flock(EX); n++; flock(UN) (fork)`;
}

/** Control block layout shared with contended_worker.ts. */
export const SLOTS = {
  /** Word: workers ready. */
  READY: 0,
  /** Word: 1 = go. */
  GO: 1,
  /** Byte offset of the raw variant's u32 counter. */
  RAW_COUNTER: 64,
  /** f64 slot: start time (CLOCK_MONOTONIC ns). */
  START: 4,
  /** f64 slot: end time. */
  END: 5,
  /** f64 slots: per-worker counts. */
  COUNTS: 32,
  /** f64 slots: per-worker time of the last operation. */
  LAST: 64,
} as const;

/** Name of the memshare lock a contended variant uses. */
export function lockName(variant: LoopVariant): string {
  return `contended-${variant}`;
}

/** Adds 1 to the little-endian u32 at `bytes[at..at+3]`. */
export function bump(bytes: Uint8Array, at: number): void {
  const value = ((bytes[at] | bytes[at + 1] << 8 | bytes[at + 2] << 16 |
    bytes[at + 3] << 24) + 1) >>> 0;
  bytes[at] = value;
  bytes[at + 1] = value >>> 8;
  bytes[at + 2] = value >>> 16;
  bytes[at + 3] = value >>> 24;
}

function readU32(bytes: Uint8Array, at: number): number {
  return (bytes[at] | bytes[at + 1] << 8 | bytes[at + 2] << 16 |
    bytes[at + 3] << 24) >>> 0;
}

/** Runs one variant with `procs` worker processes for `durationMs`. */
export async function contendedRun(
  variant: LoopVariant,
  procs: number,
  durationMs: number,
  dir: string,
): Promise<Row> {
  const runDir = join(dir, `${variant}-${procs}`);
  mkdirSync(runDir);
  const ctlPath = join(runDir, "control");
  const ctl = new Control(ctlPath);
  const children = Promise.all(
    Array.from(
      { length: procs },
      (_, i) =>
        runChild("contended_worker.ts", [variant, runDir, ctlPath, String(i)]),
    ),
  );
  let failed: unknown = null;
  children.catch((error) => (failed = error));
  while (Atomics.load(ctl.words, SLOTS.READY) < procs) {
    if (failed !== null) throw failed;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const start = monoNs() + 30e6;
  ctl.floats[SLOTS.START] = start;
  ctl.floats[SLOTS.END] = start + durationMs * 1e6;
  Atomics.store(ctl.words, SLOTS.GO, 1);
  await children;

  let counter: number;
  if (variant === "raw") counter = readU32(ctl.bytes, SLOTS.RAW_COUNTER);
  else {
    const lock = new MemoryShareLock(lockName(variant), {
      length: 64,
      dir: runDir,
    });
    const guard = lock.acquireSync();
    counter = readU32(guard.memory, 0);
    guard.releaseSync();
    await lock.close();
  }
  const counts = Array.from(
    ctl.floats.subarray(SLOTS.COUNTS, SLOTS.COUNTS + procs),
  );
  const last = Math.max(
    ...ctl.floats.subarray(SLOTS.LAST, SLOTS.LAST + procs),
  );
  const sum = counts.reduce((a, b) => a + b, 0);
  const ok = counter === sum;
  const shares = counts.map((c) => Math.round(100 * c / sum));
  return {
    section: "contended",
    operation: `${procs} proc${procs > 1 ? "s" : ""}: ${LOOP_NAMES[variant]}`,
    runtime: RUNTIME,
    unit: "op/s",
    value: counter / ((last - start) / 1e9),
    ok,
    notes: `counter ${counter} ${ok ? "=" : "≠"} Σ per-process ${sum} ${
      ok ? "✓" : "✗ LOST UPDATES"
    }; shares ${shares.join("/")} %`,
  };
}

/** Measures every loop variant with 1 (context), 2 and 4 processes. */
export async function contended(
  dir: string,
  durationMs: number,
  log: (message: string) => void,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const procs of CONTENDED_PROCS) {
    let raw = NaN;
    for (const variant of ["raw", "memshare-async", "memshare-sync"] as const) {
      log(`contended: ${procs} procs, ${LOOP_NAMES[variant]}`);
      const row = await contendedRun(variant, procs, durationMs, dir);
      if (variant === "raw") {
        raw = row.value;
        row.baselineRef = cContendedName(procs);
      } else {
        row.baseline = { name: `raw FFI flock loop`, value: raw };
        if (procs > 1) row.target = { compare: ">=", ratio: 0.5 };
      }
      if (!row.ok) log(`LOST UPDATES: ${row.notes}`);
      rows.push(row);
    }
  }
  return rows;
}
