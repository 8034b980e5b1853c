/**
 * (a) Uncontended acquire + release pairs, against the raw FFI
 * `flock(LOCK_EX|LOCK_NB)` + `flock(LOCK_UN)` pair (and, in Deno, the
 * `FsFile` locks), in interleaved batches.
 *
 * @module
 */

import { join } from "node:path";
import { MemoryShareLock, MemoryShareSemaphore } from "../mod.ts";
import { openDenoFile } from "./deno_file.ts";
import { libc, LOCK_EX, LOCK_NB, LOCK_UN, openFd } from "./libc.ts";
import { RUNTIME } from "./proc.ts";
import {
  type BatchOp,
  type BatchPlan,
  interleavedBatches,
  quantile,
} from "./stats.ts";
import type { Row } from "./table.ts";

/** Name of the raw FFI pair row, the baseline of this section. */
export const RAW_PAIR = "raw FFI flock(EX|NB) + flock(UN)";
/** Name of the C row the raw FFI pair is compared with. */
export const C_PAIR = "C flock(EX|NB) + flock(UN)";

const SLOT_ASYNC = "semaphore (3 slots): await acquire() + await release()";
const SLOT_SYNC = "semaphore (3 slots): acquireSync() + releaseSync()";

/** Measures the uncontended pairs; `dir` is an empty scratch directory. */
export async function uncontended(
  dir: string,
  plan: BatchPlan,
): Promise<Row[]> {
  const lock = new MemoryShareLock("uncontended", { length: 64, dir });
  lock.acquireSync().releaseSync(); // files created and mapped before timing
  const sem = new MemoryShareSemaphore("slots", { slots: 3, length: 64, dir });
  // Every slot's files created and mapped before timing.
  const seats = [sem.acquireSync(), sem.acquireSync(), sem.acquireSync()];
  for (const seat of seats) seat.releaseSync();
  const fd = openFd(join(dir, "raw.lock"));
  const flock = libc.flock;
  const targeted = new Set<string>();

  const ops: BatchOp[] = [
    {
      name: RAW_PAIR,
      run(n) {
        for (let i = 0; i < n; i++) {
          if (flock(fd, LOCK_EX | LOCK_NB) !== 0) throw new Error("flock EX");
          if (flock(fd, LOCK_UN) !== 0) throw new Error("flock UN");
        }
      },
    },
    {
      name: "await acquire() + await release()",
      async run(n) {
        for (let i = 0; i < n; i++) {
          const guard = await lock.acquire();
          await guard.release();
        }
      },
    },
    {
      name: "acquireSync() + releaseSync()",
      run(n) {
        for (let i = 0; i < n; i++) lock.acquireSync().releaseSync();
      },
    },
    {
      name: "tryAcquire() + releaseSync()",
      run(n) {
        for (let i = 0; i < n; i++) lock.tryAcquire()!.releaseSync();
      },
    },
    {
      name: "acquireSync() + memory[0]++ + releaseSync()",
      run(n) {
        for (let i = 0; i < n; i++) {
          const guard = lock.acquireSync();
          guard.memory[0]++;
          guard.releaseSync();
        }
      },
    },
    {
      name: SLOT_ASYNC,
      async run(n) {
        for (let i = 0; i < n; i++) {
          const seat = await sem.acquire();
          await seat.release();
        }
      },
    },
    {
      name: SLOT_SYNC,
      run(n) {
        for (let i = 0; i < n; i++) sem.acquireSync().releaseSync();
      },
    },
  ];
  for (const op of ops.slice(1, 4)) targeted.add(op.name);

  const file = openDenoFile(join(dir, "deno.lock"));
  if (file !== undefined) {
    ops.push(
      {
        name: "Deno FsFile.lockSync() + unlockSync()",
        run(n) {
          for (let i = 0; i < n; i++) {
            file.lockSync(true);
            file.unlockSync();
          }
        },
      },
      {
        name: "Deno await FsFile.lock() + unlock()",
        async run(n) {
          for (let i = 0; i < n; i++) {
            await file.lock(true);
            await file.unlock();
          }
        },
      },
    );
  }

  const { samples, sizes } = await interleavedBatches(ops, plan);
  file?.close();
  libc.close(fd);
  await lock.close();
  await sem.close();

  const raw = quantile(samples.get(RAW_PAIR)!, 0.5);
  /** A slot's pair is compared with the lock's same pair. */
  const lockPair: Record<string, string> = {
    [SLOT_ASYNC]: "await acquire() + await release()",
    [SLOT_SYNC]: "acquireSync() + releaseSync()",
  };
  return ops.map((op): Row => {
    const s = samples.get(op.name)!;
    const row: Row = {
      section: "uncontended",
      operation: op.name,
      runtime: RUNTIME,
      unit: "ns",
      value: quantile(s, 0.5),
      p90: quantile(s, 0.9),
      notes: `${s.length} batches × ${sizes.get(op.name)}`,
    };
    if (op.name === RAW_PAIR) row.baselineRef = C_PAIR;
    else if (op.name in lockPair) {
      row.baseline = {
        name: "the lock's pair",
        value: quantile(samples.get(lockPair[op.name])!, 0.5),
      };
    } else row.baseline = { name: "raw FFI pair", value: raw };
    if (targeted.has(op.name)) row.target = { compare: "<=", ratio: 1.5 };
    return row;
  });
}
