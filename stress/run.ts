/**
 * Stress test of memshare under load and faults: proves that the lock never
 * lets two holders in and loses nothing, while holders are SIGKILLed.
 *
 *   deno run -A stress/run.ts --seconds 30 [--no-lock] [--help]
 *
 * Worker processes, alternately Deno (with `--allow-ffi` only) and Bun, each
 * with several tasks, loop taking one lock every way the API offers (async
 * `acquire`, `acquireSync`, `tryAcquire`, `run`; timeouts 0, short, long,
 * none; AbortSignals aborted at random moments) and run a checked critical
 * section on its shared memory (critical.ts). A Python `filelock.FileLock`
 * holder takes turns on the same lock file (python_holder.py). Now and then
 * the driver reads the owner word, SIGKILLs the worker inside (one time in
 * four: a waiting one), and starts a new one; with `--unlink-every` it also
 * deletes the lock file as a tmp cleaner would. At the end it checks the
 * region exactly (verify.ts), prints `operations:`, `kills:`,
 * `recoveries:` and `violations:` lines, and exits 1 on any violation or
 * mismatch. `--no-lock` runs the same workers without the lock: it must
 * fail, which shows the checks catch overlapping holders.
 *
 * Children and the temporary directory are removed on every exit path
 * (Ctrl-C included); workers also exit by themselves if the driver dies.
 *
 * While it runs, stderr shows the phase and how far along the run is
 * (seconds, critical sections so far, kills, live workers): one line that
 * rewrites itself on a terminal, a plain line every tenth of the run
 * otherwise (bench/progress.ts).
 *
 * @module
 */

import { mkdtempSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { Progress } from "../bench/progress.ts";
import { MemoryShareLock } from "../mod.ts";
import { WAITERS_WORD } from "../src/engine/local/header.ts";
import { args } from "../tests/fixtures/args.ts";
import { killAll, type Proc } from "./children.ts";
import { Control } from "./control.ts";
import { recover } from "./critical.ts";
import { Fleet, killOne } from "./fleet.ts";
import {
  COUNTER,
  FIRST_WORKER_SLOT,
  LOCK_NAME,
  OWNER,
  REGION_LENGTH,
  REGION_WORDS,
  regionWords,
  STOP,
} from "./layout.ts";
import { parseOptions, type StressOptions, USAGE } from "./options.ts";
import { sleep } from "./pace.ts";
import { exponential } from "./random.ts";
import { verify } from "./verify.ts";

/** How long the workers get to notice the stop word and exit. */
const STOP_GRACE_MS = 30_000;

/** The run's phases, as the progress line counts them. */
const progress = new Progress("stress");

/** Resolves when every child has exited, or after `ms` with the ones still running. */
async function waitForAll(procs: Proc[], ms: number): Promise<Proc[]> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([Promise.all(procs.map((p) => p.exited)), timeout]);
  clearTimeout(timer);
  return procs.filter((p) => p.alive);
}

/** One line saying what this run does. */
function banner(options: StressOptions, dir: string): string {
  return `memshare stress: ${options.seconds} s, ${
    options.lock ? "with the lock" : "WITHOUT THE LOCK (--no-lock)"
  }, ${options.workers} workers (Deno and Bun) × ${options.tasks} tasks holding mostly 0–${options.maxHold} ms, ${
    options.python ? "a Python FileLock holder, " : ""
  }${
    options.killEvery > 0
      ? `a SIGKILL every ~${options.killEvery} ms`
      : "no kills"
  }${
    options.unlinkEvery > 0
      ? `, the lock file deleted every ~${options.unlinkEvery} ms`
      : ""
  }; dir ${dir}`;
}

/** Starts the Python holder and the workers; resolves when all workers run. */
async function startAll(fleet: Fleet, lock: MemoryShareLock): Promise<void> {
  const { options } = fleet;
  if (options.python) fleet.startPython(lock.path, lock.lockPath);
  for (let lane = 0; lane < options.workers; lane++) fleet.startWorker(lane);
  const readyBy = performance.now() + 60_000;
  while (fleet.live().length < options.workers && fleet.failures.length === 0) {
    if (performance.now() > readyBy) {
      fleet.failures.push("workers did not start within 60 s");
      return;
    }
    await sleep(10);
  }
}

/** The run proper: kills (and lock file deletions) at random times until the deadline. */
async function runUntilDeadline(
  fleet: Fleet,
  control: Control,
  lockPath: string,
): Promise<{ seconds: number; unlinks: number }> {
  const { seconds, killEvery, unlinkEvery } = fleet.options;
  fleet.phase = "run";
  const started = performance.now();
  const deadline = started + seconds * 1_000;
  progress.step(`running for ${seconds} s`);
  let tenths = 0;
  const report = setInterval(() => {
    const elapsed = (performance.now() - started) / 1_000;
    const tenth = Math.floor((10 * elapsed) / seconds);
    const plain = tenth > tenths && tenth < 10;
    if (plain) tenths = tenth;
    progress.update(
      `${Math.min(elapsed, seconds).toFixed(0)} s of ${seconds} s (${
        Math.min(100, Math.floor((100 * elapsed) / seconds))
      } %), ${
        control.read(COUNTER).toLocaleString("en-US")
      } critical sections, ${fleet.kills} kills, ${fleet.live().length} workers live`,
      plain,
    );
  }, progress.live ? 250 : 100);
  const running = () =>
    performance.now() < deadline && fleet.failures.length === 0;
  const unlinking = unlinkEvery > 0
    ? unlinkWhile(running, lockPath, unlinkEvery)
    : Promise.resolve(0);
  while (running()) {
    if (killEvery === 0) {
      await sleep(Math.min(deadline - performance.now(), 100));
      continue;
    }
    await sleep(Math.min(deadline - performance.now(), exponential(killEvery)));
    if (running()) await killOne(fleet, control);
  }
  clearInterval(report);
  const unlinks = await unlinking;
  return { seconds: (performance.now() - started) / 1_000, unlinks };
}

/** Deletes the lock file at random times, as a tmp cleaner would; returns how often. */
async function unlinkWhile(
  running: () => boolean,
  path: string,
  every: number,
): Promise<number> {
  let count = 0;
  while (running()) {
    await sleep(Math.min(exponential(every), 1_000));
    try {
      unlinkSync(path);
      count++;
    } catch {
      // Already deleted, and nobody has made a new one yet.
    }
  }
  return count;
}

/** Sets the stop word and waits for every process to exit (killing hung ones). */
async function stopAll(fleet: Fleet, control: Control): Promise<void> {
  fleet.phase = "stop";
  progress.step("stopping the workers");
  control.write(STOP, 1);
  const procs = [
    ...fleet.incarnations.map((inc) => inc.proc),
    ...(fleet.python ? [fleet.python.proc] : []),
  ];
  const report = setInterval(() => {
    const left = procs.filter((p) => p.alive).length;
    progress.update(`${left} process${left === 1 ? "" : "es"} still running`);
  }, 500);
  const hung = await waitForAll(procs, STOP_GRACE_MS);
  clearInterval(report);
  for (const proc of hung) {
    fleet.failures.push(
      `pid ${proc.pid} did not stop within ${STOP_GRACE_MS} ms: ${proc.stderr()}`,
    );
    proc.kill("SIGKILL");
  }
  await Promise.all(procs.map((p) => p.exited));
  if (fleet.python !== undefined && fleet.python.result === undefined) {
    fleet.failures.push(
      `the Python holder gave no result: ${fleet.python.proc.stderr()}`,
    );
  }
}

/** Runs the whole test in `dir`; prints the summary; resolves with whether it passed. */
async function main(options: StressOptions, dir: string): Promise<boolean> {
  const lock = new MemoryShareLock(LOCK_NAME, {
    length: REGION_LENGTH,
    dir,
    tagName: "stress driver",
  });
  // Creates the data file (zeroed) so workers and Python can map it.
  lock.acquireSync().releaseSync();
  const control = new Control(lock.path);
  const fleet = new Fleet(options, dir);
  fleet.print = (line) => progress.log(line);
  try {
    console.log(banner(options, dir));
    progress.step(`starting ${options.workers} workers`);
    await startAll(fleet, lock);
    const { seconds, unlinks } = await runUntilDeadline(
      fleet,
      control,
      lock.lockPath,
    );
    await stopAll(fleet, control);

    // The final reading, under the lock: the last holder killed may not
    // have been recovered by anyone yet.
    progress.step("checking the shared memory");
    const guard = await lock.acquire({ timeout: 10_000 });
    const words = regionWords(guard.memory);
    if (guard.recovered) {
      fleet.failures.push(...recover(words));
      // As a worker entering and leaving would: the dead holder's mark goes
      // (recover() noted its slot, which verify() checks was killed).
      if (words[OWNER] >= FIRST_WORKER_SLOT) words[OWNER] = 0;
    }
    const snapshot = words.slice(0, REGION_WORDS);
    await guard.release();
    progress.finish();
    const { lines, passed } = verify({
      options,
      seconds,
      words: snapshot,
      incarnations: fleet.incarnations,
      python: fleet.python?.result,
      kills: fleet.kills,
      unlinks,
      killsInside: fleet.killsInside,
      header: lock.info(),
      waitersLeft: control.readAt(WAITERS_WORD * 4) | 0,
      finalRecovered: guard.recovered,
      failures: fleet.failures,
    });
    for (const line of lines) console.log(line);
    return passed;
  } finally {
    progress.finish();
    killAll();
    control.close();
    await lock.close();
  }
}

let options: StressOptions;
try {
  if (args.includes("--help")) {
    console.log(USAGE);
    process.exit(0);
  }
  options = parseOptions(args);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), "memshare-stress-"));
let cleaned = false;
/** Kills every child and removes the directory; safe to call again. */
function cleanup(): void {
  if (cleaned) return;
  cleaned = true;
  killAll();
  rmSync(dir, { recursive: true, force: true });
}
process.on("exit", cleanup);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: killing the workers and removing ${dir}`);
    cleanup();
    process.exit(130);
  });
}

let passed = false;
try {
  passed = await main(options, dir);
} catch (error) {
  console.error("stress driver failed:", error);
} finally {
  cleanup();
}
process.exit(passed ? 0 : 1);
