/**
 * Atomic commit at scale: thousands of holders SIGKILLed at random points
 * of multi-word writes, and not one torn record with `atomic: true`.
 *
 *   deno run -A stress/atomic.ts [--kills 2000] [--seconds 900] [--writers 3]
 *
 * Runs twice on a fresh lock of 4 KiB each time: with `atomic: true`, then
 * without it (the control). Writers of both runtimes
 * (tests/fixtures/atomic_writer.ts) take the lock again and again, check the
 * record they find (length, payload, FNV-1a checksum) and write a new one in
 * 16 pieces with pauses, so most kills land mid-write. The driver SIGKILLs
 * whichever writer holds the lock (the header names it) every 1–5 ms and
 * starts another, until `--kills` kills or `--seconds` per run; after each
 * kill it also takes the lock itself when it is free and checks the record
 * the dead holder left. It prints
 * one line per run (`atomic: {...}` and `control: {...}`: records checked,
 * torn records seen, holds that found the holder dead, kills) and exits 1
 * unless the atomic run saw no torn record and the control saw some — the
 * control shows the kills really tear records without it.
 *
 * @module
 */

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { Progress } from "../bench/progress.ts";
import { MemoryShareLock } from "../mod.ts";
import { currentPlatform } from "../src/ffi/current.ts";
import {
  type Child,
  READY_MS,
  sleep,
  startFixture,
  tempDir,
} from "../tests/helpers.ts";
import { whole } from "../tests/fixtures/record.ts";

const USAGE = `usage: deno run -A stress/atomic.ts [options]
  --kills N      SIGKILLs of a holder per run (default 2000)
  --seconds N    at most this long per run (default 900)
  --writers N    writer processes alive at once, alternately Deno and Bun (default 3)`;

const LENGTH = 4096;
const [CHECKED, TORN, RECOVERED] = [0, 1, 2];

/** What one run saw. */
interface RunCounts {
  /** Records checked by a holder (writers and the driver). */
  checked: number;
  /** Of those, torn. */
  torn: number;
  recovered: number;
  kills: number;
  seconds: number;
  /** Whether the record left at the end is whole. */
  finalWhole: boolean;
}

function parse(argv: readonly string[]) {
  const options = { kills: 2000, seconds: 900, writers: 3 };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, "") as keyof typeof options;
    if (argv[i] === "--help") {
      console.log(USAGE);
      process.exit(0);
    }
    const value = Number(argv[i + 1]);
    if (!(key in options) || !Number.isInteger(value) || value < 1) {
      throw new TypeError(`bad argument "${argv[i]}"\n${USAGE}`);
    }
    options[key] = value;
    i++;
  }
  return options;
}

/** The control words the writers count in, mapped here too. */
function controlFile(dir: string) {
  const path = join(dir, "control");
  writeFileSync(path, new Uint8Array(64), { mode: 0o600 });
  const platform = currentPlatform();
  const fd = platform.openFile(path, false, 0o600);
  const mapping = platform.map(fd, 64);
  const words = new Int32Array(mapping.buffer(0, 64));
  return {
    path,
    words,
    close() {
      (words.buffer as ArrayBuffer).transfer(0);
      platform.unmap(mapping);
      platform.close(fd);
    },
  };
}

async function killRun(
  atomic: boolean,
  options: ReturnType<typeof parse>,
  progress: Progress,
): Promise<RunCounts> {
  const dir = tempDir();
  const lock = new MemoryShareLock("torn", {
    length: LENGTH,
    dir: dir.path,
    atomic,
  });
  const control = controlFile(dir.path);
  const children = new Map<number, Child>();
  let kills = 0;
  let started = 0;
  let driverChecked = 0;
  let driverTorn = 0;
  let driverRecovered = 0;
  const spawnOne = () => {
    const child = startFixture(
      started++ % 2 === 0 ? "deno" : "bun",
      "atomic_writer.ts",
      ["torn", dir.path, atomic ? "1" : "0", String(LENGTH), control.path],
    );
    children.set(child.process.pid!, child);
  };
  const begin = performance.now();
  try {
    for (let i = 0; i < options.writers; i++) spawnOne();
    await Promise.all(
      [...children.values()].map((c) => c.waitFor("ready", READY_MS)),
    );
    const end = begin + options.seconds * 1000;
    let shown = 0;
    while (kills < options.kills && performance.now() < end) {
      await sleep(1 + Math.random() * 4);
      const holder = lock.info().holderPid;
      const victim = holder === null ? undefined : children.get(holder);
      if (victim === undefined || !victim.stdout().includes("ready")) continue;
      victim.process.kill("SIGKILL");
      children.delete(holder!);
      kills++;
      spawnOne();
      // The driver looks too, right after the kill when it can: the record
      // the dead holder left, before any writer's next turn.
      await victim.exited;
      const guard = lock.tryAcquire();
      if (guard !== null) {
        driverChecked++;
        if (guard.recovered) driverRecovered++;
        if (!whole(guard.memory)) driverTorn++;
        guard.releaseSync();
      }
      if (performance.now() - shown > 2000) {
        shown = performance.now();
        progress.update(
          `${kills} of ${options.kills} kills, ${
            Atomics.load(control.words, TORN) + driverTorn
          } torn so far`,
          kills % 500 < 10,
        );
      }
    }
  } finally {
    for (const child of children.values()) child.process.kill("SIGKILL");
    await Promise.all([...children.values()].map((child) => child.exited));
  }
  const finalWhole = await lock.run((memory) => whole(memory));
  const counts: RunCounts = {
    checked: Atomics.load(control.words, CHECKED) + driverChecked,
    torn: Atomics.load(control.words, TORN) + driverTorn,
    recovered: Atomics.load(control.words, RECOVERED) + driverRecovered,
    kills,
    seconds: Math.round((performance.now() - begin) / 1000),
    finalWhole,
  };
  control.close();
  await lock.close();
  dir.remove();
  return counts;
}

async function main(): Promise<number> {
  const options = parse(process.argv.slice(2).filter((a) => a !== "--"));
  const progress = new Progress("stress:atomic", 2);
  progress.step("atomic: true");
  const atomic = await killRun(true, options, progress);
  progress.log(`atomic: ${JSON.stringify(atomic)}`);
  progress.step("control (atomic: false)");
  const control = await killRun(false, options, progress);
  progress.log(`control: ${JSON.stringify(control)}`);
  const ok = atomic.torn === 0 && atomic.finalWhole && control.torn > 0 &&
    atomic.kills >= options.kills;
  progress.finish(
    ok
      ? `${atomic.kills} holders killed with atomic: no torn record; the control tore ${control.torn}`
      : "FAILED: " +
        (atomic.torn > 0 || !atomic.finalWhole
          ? "a torn record with atomic"
          : control.torn === 0
          ? "the control never tore a record"
          : `only ${atomic.kills} kills in ${options.seconds} s`),
  );
  return ok ? 0 : 1;
}

process.exit(await main());
