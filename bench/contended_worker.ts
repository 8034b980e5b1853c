/**
 * One process of the contended benchmark: increments the shared counter
 * under the lock until the common end time, then records its own count.
 * Usage: `contended_worker.ts VARIANT DIR CONTROL_PATH INDEX`.
 *
 * @module
 */

import { join } from "node:path";
import process from "node:process";
import { MemoryShareLock } from "../mod.ts";
import { bump, lockName, type LoopVariant, SLOTS } from "./contended.ts";
import { Control, sleepSync } from "./control.ts";
import { libc, LOCK_EX, LOCK_UN, monoNs, openFd } from "./libc.ts";

const [variantArg, dir, ctlPath, indexArg] = process.argv.slice(2);
const variant = variantArg as LoopVariant;
const index = Number(indexArg);
const ctl = new Control(ctlPath);

let lock: MemoryShareLock | null = null;
let fd = -1;
if (variant === "raw") {
  fd = openFd(join(dir, "raw.lock"));
} else {
  lock = new MemoryShareLock(lockName(variant), { length: 64, dir });
  lock.acquireSync().releaseSync(); // files opened and mapped before the start
}

Atomics.add(ctl.words, SLOTS.READY, 1);
ctl.waitFor(SLOTS.GO, 1);
const now = monoNs();
const end = performance.now() + (ctl.floats[SLOTS.END] - now) / 1e6;
const wait = (ctl.floats[SLOTS.START] - now) / 1e6;
if (wait > 0) sleepSync(wait);

// Each loop written out as a user would write it (no per-step closure or
// extra await), so only the lock's own cost differs between them.
let mine = 0;
if (variant === "raw") {
  const bytes = ctl.bytes;
  while (performance.now() < end) {
    if (libc.flock(fd, LOCK_EX) !== 0) throw new Error("flock EX");
    bump(bytes, SLOTS.RAW_COUNTER);
    if (libc.flock(fd, LOCK_UN) !== 0) throw new Error("flock UN");
    mine++;
  }
} else if (variant === "memshare-async") {
  while (performance.now() < end) {
    const guard = await lock!.acquire();
    bump(guard.memory, 0);
    await guard.release();
    mine++;
  }
} else {
  while (performance.now() < end) {
    const guard = lock!.acquireSync();
    bump(guard.memory, 0);
    guard.releaseSync();
    mine++;
  }
}
ctl.floats[SLOTS.COUNTS + index] = mine;
ctl.floats[SLOTS.LAST + index] = monoNs();
await lock?.close();
process.exit(0);
