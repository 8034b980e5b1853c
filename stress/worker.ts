/**
 * A stress worker process (Deno with `--allow-ffi` only, or Bun): several
 * tasks loop taking the lock and running the checked critical section
 * until the driver sets the stop word, then it prints its stats.
 *
 * Args: MODE NAME DIR SLOTS DRIVER_PID MAX_HOLD
 * - MODE `lock` takes the lock; `nolock` maps the data file itself and runs
 *   the same critical sections without it (the driver's `--no-lock`, which
 *   shows that the checks do catch overlapping holders).
 * - SLOTS: comma-separated, one task per slot.
 * - DRIVER_PID: the worker exits when that process is gone, so a killed
 *   driver leaves no worker behind.
 * - MAX_HOLD: ms a critical section mostly holds the lock at most (pace.ts).
 *
 * Prints `ready` once it runs, `violation …` for each problem found (also
 * counted in the region, as stdout is lost when the driver kills us), and
 * at the end one line `result {pid, runtime, tasks: TaskStats[]}`.
 */
import { MemoryShareLock } from "../mod.ts";
import { currentPlatform } from "../src/ffi/current.ts";
import type { Mapping } from "../src/ffi/platform.ts";
import { HEADER_SIZE } from "../src/engine/local/header.ts";
import { args, runtimeName } from "../tests/fixtures/args.ts";
import { criticalSection, type Holder } from "./critical.ts";
import { REGION_LENGTH, regionWords, STOP, VIOLATIONS } from "./layout.ts";
import {
  newStats,
  operation,
  pause,
  type Realm,
  type TaskStats,
} from "./ops.ts";
import { randomPace } from "./pace.ts";

const [mode, name, dir, slotList, driverPid, maxHoldArg] = args;
const maxHold = Number(maxHoldArg);
const platform = currentPlatform();
const pid = platform.pid();

// Our own mapping of the region, outside the lock: for the stop word, the
// violation count, and (in `nolock` mode) the critical sections themselves.
// The driver made the data file before starting us.
const fd = platform.openFile(platform.path.join(dir, name), false, 0o600);
const mapping: Mapping = platform.map(fd, HEADER_SIZE + REGION_LENGTH);
const control = regionWords(mapping.buffer(HEADER_SIZE, REGION_LENGTH));

const exit = (code: number): never => {
  const g = globalThis as {
    Deno?: { exit(code: number): never };
    process?: { exit(code: number): never };
  };
  return (g.Deno?.exit ?? g.process!.exit)(code);
};
const orphanCheck = setInterval(() => {
  if (!platform.processAlive(Number(driverPid))) exit(3);
}, 250);

/** Counts problems in the region (they survive a kill) and prints them. */
function report(problems: string[]): void {
  if (problems.length === 0) return;
  Atomics.add(control, VIOLATIONS, problems.length);
  for (const problem of problems) console.log(`violation ${problem}`);
}

const stopped = () => Atomics.load(control, STOP) !== 0;

/** One task of the `lock` mode: operations until stopped. */
async function lockTask(
  lock: MemoryShareLock,
  me: Holder,
  stats: TaskStats,
  realm: Realm,
): Promise<void> {
  while (!stopped()) {
    report(await operation(lock, me, stats, realm, maxHold));
    await pause();
  }
}

/** One task of the `nolock` mode: the same critical sections, no lock. */
async function unlockedTask(me: Holder, stats: TaskStats): Promise<void> {
  while (!stopped()) {
    report(await criticalSection(control, me, false, randomPace(maxHold)));
    stats.completed++;
    await pause();
  }
}

const slots = slotList.split(",").map(Number);
const stats = slots.map(newStats);
const holders: Holder[] = slots.map((slot) => ({ slot, pid }));
console.log("ready");
if (mode === "lock") {
  const lock = new MemoryShareLock(name, {
    length: REGION_LENGTH,
    dir,
    tagName: `stress ${runtimeName} ${pid}`,
  });
  const realm: Realm = { holding: 0, acquiring: 0, pid };
  await Promise.all(
    holders.map((me, i) => lockTask(lock, me, stats[i], realm)),
  );
  await lock.close();
} else if (mode === "nolock") {
  await Promise.all(holders.map((me, i) => unlockedTask(me, stats[i])));
} else {
  throw new Error(`unknown mode ${mode}`);
}
clearInterval(orphanCheck);
// Detach before unmapping: touching an unmapped view would crash.
(control.buffer as ArrayBuffer).transfer(0);
platform.unmap(mapping);
platform.close(fd);
console.log(
  `result ${JSON.stringify({ pid, runtime: runtimeName, tasks: stats })}`,
);
