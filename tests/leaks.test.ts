/**
 * Nothing leaks: many acquire/release cycles, many locks opened and closed,
 * and many failed waits leave a process with the same open fds and
 * mappings, and bounded resident memory.
 *
 * Each workload runs in a child (`fixtures/leaks.ts`, under the runtime
 * running this file; Deno with `--allow-ffi` and the V8 flag that exposes
 * `gc()`) and this process reads the child's `/proc/PID` when the child says
 * it is ready: the test runner's own process also holds other test files'
 * fds, child pipes and garbage, which come and go while we measure.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { HEADER_SIZE, WAITERS_WORD } from "../src/engine/local/header.ts";
import { type Snapshot, snapshot } from "./leak_probe.ts";
import {
  type Child,
  fixture,
  reap,
  RUNTIME,
  runtimeCommand,
  start,
  startFixture,
  tempDir,
} from "./helpers.ts";

const MiB = 1 << 20;
/** RSS may grow this much over a workload after its warm-up (allocator slack, JIT code). */
const RSS_SLACK = 64 * MiB;
/** Runtimes start and stop helper threads (GC, I/O) of their own; a thread per operation would be thousands. */
const THREAD_SLACK = 4;

interface Measured {
  before: Snapshot;
  after: Snapshot;
  closed: Snapshot;
  gc: boolean;
  ms: number;
  counter: number | null;
}

/**
 * Runs the leak fixture for `scenario` in `dir`, reading its `/proc` at each
 * `measure` line it prints, and returns the readings with its report.
 */
async function measure(
  scenario: string,
  dir: string,
  count: number,
  warmup: number,
): Promise<Measured> {
  const [command, argv] = runtimeCommand(
    RUNTIME,
    fixture("leaks.ts"),
    [scenario, dir, String(count), String(warmup)],
    ["--v8-flags=--expose-gc"],
  );
  const child = start(command, argv);
  const readings: Record<string, Snapshot> = {};
  try {
    for (const label of ["before", "after", "closed"]) {
      await child.waitFor(`measure ${label}`, 60_000);
      readings[label] = snapshot(child.process.pid!, dir);
      child.process.stdin!.write("ok\n");
    }
    child.process.stdin!.end();
    const { code, signal } = await child.exited;
    assert.equal(code, 0, `child exited ${code ?? signal}: ${child.stderr()}`);
  } finally {
    await reap([child]);
  }
  const report = JSON.parse(child.stdout().trim().split("\n").at(-1)!) as {
    gc: boolean;
    ms: number;
    counter: number | null;
  };
  const measured = {
    before: readings.before,
    after: readings.after,
    closed: readings.closed,
    ...report,
  };
  // The numbers, for the record (and for a failure's context).
  console.log(`${RUNTIME} ${scenario}: ${JSON.stringify(measured)}`);
  return measured;
}

/** Asserts equal fds and mappings before and after, RSS and thread growth within the slack. */
function assertFlat(m: Measured): void {
  assert.ok(m.gc, "the child could not collect garbage, so RSS means little");
  assert.equal(m.after.fds, m.before.fds, "open fds changed");
  assert.equal(m.after.maps, m.before.maps, "mappings under the dir changed");
  const growth = m.after.rss - m.before.rss;
  assert.ok(
    growth < RSS_SLACK,
    `RSS grew ${(growth / MiB).toFixed(1)} MiB (limit ${RSS_SLACK / MiB})`,
  );
  assert.ok(
    m.after.threads - m.before.threads <= THREAD_SLACK,
    `threads went from ${m.before.threads} to ${m.after.threads}`,
  );
}

describe(`no leaks (${RUNTIME})`, () => {
  test("100,000 acquire/release cycles of every kind, touching memory", {
    timeout: 60_000,
  }, async () => {
    const dir = tempDir();
    try {
      const count = 100_000;
      const warmup = 10_000;
      const m = await measure("cycles", dir.path, count, warmup);
      assertFlat(m);
      // One lock open throughout: its data file mapped once, its three fds
      // (lock file, data file, and the directory held against cleaners).
      assert.equal(m.before.maps, 1);
      assert.equal(m.closed.maps, 0, "close() left a mapping");
      assert.equal(m.closed.fds, m.before.fds - 3, "close() left an fd");
      // Every exclusive cycle's write landed: one increment per cycle, two
      // in the cycles with a second, queued task (i % 8 === 5); none from
      // the shared holds (i % 8 >= 6), whose writes go to their copies.
      let expected = 0;
      for (let i = 0; i < warmup + count; i++) {
        expected += i % 8 === 5 ? 2 : i % 8 >= 6 ? 0 : 1;
      }
      assert.equal(m.counter, expected);
    } finally {
      dir.remove();
    }
  });

  test("1,000 distinct locks made, acquired, released and closed", {
    timeout: 60_000,
  }, async () => {
    const dir = tempDir();
    try {
      const m = await measure("locks", dir.path, 1_000, 50);
      assertFlat(m);
      assert.equal(m.after.maps, 0, "a closed lock left a mapping");
      assert.equal(m.closed.fds, m.before.fds);
    } finally {
      dir.remove();
    }
  });

  test("2,000 failed acquires against another process's holder", {
    timeout: 60_000,
  }, async () => {
    const dir = tempDir();
    let holder: Child | undefined;
    try {
      holder = startFixture(RUNTIME, "holder.ts", ["held", dir.path]);
      await holder.waitFor('"held":true');
      const m = await measure("waits", dir.path, 2_000, 200);
      assertFlat(m);
      assert.equal(m.closed.maps, 0, "close() left a mapping");
      // Every waiter counted itself out of the header again: a leftover
      // count would make every later release pay for a futex wake.
      const header = readFileSync(join(dir.path, "held")).subarray(
        0,
        HEADER_SIZE,
      );
      const waiters = new DataView(header.buffer, header.byteOffset)
        .getInt32(WAITERS_WORD * 4, true);
      assert.equal(waiters, 0, "waiters left counted in the header");
    } finally {
      holder?.process.kill("SIGKILL");
      await holder?.exited;
      dir.remove();
    }
  });
});
