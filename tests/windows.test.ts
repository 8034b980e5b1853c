/**
 * The Windows platform (kernel32) for real: the platform calls, the lock
 * built on them, and exclusion and crash recovery across processes of the
 * same runtime. Runs only on Windows — here, the Windows builds of Deno and
 * Bun under Wine (`scripts/test-windows.sh`); elsewhere every test skips.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LockGuard, LockTimeoutError, MemoryShareLock } from "../mod.ts";
import { pollDelay } from "../src/engine/local/wait_loop.ts";
import { currentPlatform } from "../src/ffi/current.ts";
import { HEADER_SIZE } from "../src/engine/local/header.ts";
import { type LockWait, OsError, type Platform } from "../src/ffi/platform.ts";
import { LockProbe, type ProbeKernel } from "../src/ffi/windows/lock_probe.ts";
import { lockWaitsComplete } from "../src/ffi/windows/waits.ts";
import { fixture, RUNTIME, sleep, tempDir, within } from "./helpers.ts";
import { machineClock } from "./fixtures/windows_clock.ts";

const WINDOWS = process.platform === "win32";
const skip = !WINDOWS && "Windows only (scripts/test-windows.sh runs it)";
/** Generous: every process start under Wine costs about a second. */
const timeout = 120_000;

/** A test that runs on Windows only. */
function windowsTest(name: string, fn: () => void | Promise<void>): void {
  test(name, { skip, timeout }, fn);
}

const platform = (): Platform => currentPlatform();

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
async function inTempDir(fn: (dir: string) => void | Promise<void>) {
  const dir = tempDir();
  try {
    await fn(dir.path);
  } finally {
    dir.remove();
  }
}

/** Whether `fn` throws an `OsError` with `code`. */
function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof OsError, `expected an OsError, got ${e}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

test("the runner that expects Windows really runs on Windows", () => {
  // scripts/test-windows.sh sets this, so a wrong platform cannot turn every
  // test below into a silent skip.
  if (process.env.MEMSHARE_EXPECT_WINDOWS === "1") {
    assert.equal(process.platform, "win32");
  }
});

// ---------------------------------------------------------------- platform

windowsTest(
  "the kernel32 platform is selected, with Windows paths and identity",
  () => {
    const p = platform();
    const arch = process.arch === "arm64" ? "aarch64" : "x86_64";
    assert.equal(p.os, "windows");
    assert.equal(p.table, `windows-${arch}`);
    assert.equal(p.path.sep, "\\");
    assert.equal(p.pid(), process.pid);
    assert.equal(p.uid(), -1);
    assert.equal(p.cwd(), process.cwd());
  },
);

windowsTest(
  "env reads the process environment; defaultDirectory is %TEMP%\\memshare",
  () => {
    const p = platform();
    assert.equal(p.env("PATH"), process.env.PATH);
    assert.equal(p.env("MEMSHARE_SURELY_UNSET_VARIABLE"), undefined);
    const expected = join(tmpdir(), "memshare").toLowerCase();
    assert.equal(p.defaultDirectory().toLowerCase(), expected);
  },
);

windowsTest(
  "openFile: ENOENT when missing, creates once, and two opens name one file",
  async () => {
    await inTempDir((dir) => {
      const p = platform();
      const path = join(dir, "x.lock");
      throwsCode(() => p.openFile(path, false, 0o600), "ENOENT");
      throwsCode(() => p.openFile(join(dir, "no", "x"), true, 0o600), "ENOENT");
      const a = p.openFile(path, true, 0o600);
      const b = p.openFile(path, true, 0o600);
      try {
        const sa = p.statHandle(a);
        assert.deepEqual(p.statHandle(b), sa);
        assert.deepEqual(p.statPath(path), sa);
        assert.equal(sa.kind, "file");
        assert.equal(sa.size, 0);
        assert.equal(sa.links, 1);
        assert.equal(sa.uid, -1);
        assert.notDeepEqual(sa.id, [0, 0, 0, 0]);
      } finally {
        p.close(a);
        p.close(b);
      }
    });
  },
);

windowsTest(
  "statPath: null when missing; directories and devices are what they are",
  async () => {
    await inTempDir((dir) => {
      const p = platform();
      assert.equal(p.statPath(join(dir, "missing")), null);
      assert.equal(p.statPath(join(dir, "no", "missing")), null);
      assert.equal(p.statPath(dir)!.kind, "directory");
      assert.equal(p.makeDirectory(join(dir, "sub"), 0o700), true);
      assert.equal(p.makeDirectory(join(dir, "sub"), 0o700), false);
      assert.equal(p.statPath(join(dir, "sub"))!.kind, "directory");
      throwsCode(() => p.openFile(join(dir, "sub"), true, 0o600), "EISDIR");
      // "NUL" is the null device in every directory: opened, but never a file.
      const nul = p.openFile(join(dir, "NUL"), true, 0o600);
      try {
        assert.equal(p.statHandle(nul).kind, "other");
      } finally {
        p.close(nul);
      }
    });
  },
);

windowsTest(
  "readFile: exact bytes (UTF-16 name, file held open by another handle), null when missing",
  async () => {
    await inTempDir((dir) => {
      const p = platform();
      // More than the first 64 KiB read: ReadFile is called again, further on.
      const bytes = new Uint8Array(150_000).map((_, i) => (i * 13 + 5) & 0xff);
      const path = join(dir, "daten-\u00fc\u{1f512}.bin");
      writeFileSync(path, bytes);
      assert.deepEqual(p.readFile(path), bytes);
      // Our own read-write handles share everything: a reader gets in.
      const held = p.openFile(path, false, 0o600);
      try {
        assert.deepEqual(p.readFile(path), bytes);
      } finally {
        p.close(held);
      }
      writeFileSync(join(dir, "empty"), "");
      assert.deepEqual(p.readFile(join(dir, "empty")), new Uint8Array(0));
      assert.equal(p.readFile(join(dir, "missing")), null); // FILE_NOT_FOUND
      assert.equal(p.readFile(join(dir, "no", "missing")), null); // PATH_NOT_FOUND
      throwsCode(() => p.readFile(dir), "EISDIR");
    });
  },
);

windowsTest(
  "tryLock excludes a second handle; shared probes coexist; unlock lets it in",
  async () => {
    await inTempDir((dir) => {
      const p = platform();
      const path = join(dir, "x.lock");
      const a = p.openFile(path, true, 0o600);
      const b = p.openFile(path, false, 0o600);
      try {
        assert.equal(p.tryLock(a), true);
        assert.equal(p.tryLock(b), false);
        assert.equal(p.tryLock(b, true), false);
        p.unlock(a);
        assert.equal(p.tryLock(a, true), true);
        assert.equal(p.tryLock(b, true), true);
        assert.equal(p.tryLock(b), false);
        p.unlock(a);
        p.unlock(b);
        assert.equal(p.tryLock(b), true);
        p.unlock(b);
        assert.throws(() => p.unlock(b), OsError);
      } finally {
        p.close(a);
        p.close(b);
      }
      // The lock file itself is never written.
      assert.equal(p.statPath(path)!.size, 0);
    });
  },
);

windowsTest(
  "map, write, flush, read back; extend grows (never shrinks), even while mapped",
  async () => {
    await inTempDir((dir) => {
      const p = platform();
      const path = join(dir, "data");
      const handle = p.openFile(path, true, 0o600);
      const other = p.openFile(path, false, 0o600);
      try {
        p.extend(handle, 4096);
        assert.equal(p.statHandle(handle).size, 4096);
        const mapping = p.map(handle, 4096);
        const view = new Uint8Array(mapping.buffer(100, 4));
        view.set([1, 2, 3, 4]);
        p.flush(mapping);
        // Another opener with a longer region grows the file under our mapping.
        p.extend(other, 8192);
        p.extend(other, 100);
        assert.equal(p.statHandle(handle).size, 8192);
        const second = p.map(other, 8192);
        const seen = new Uint8Array(second.buffer(100, 4));
        assert.deepEqual([...seen], [1, 2, 3, 4]);
        seen[0] = 9;
        assert.equal(view[0], 9);
        for (const [m, v] of [[mapping, view], [second, seen]] as const) {
          (v.buffer as ArrayBuffer).transfer(0);
          p.unmap(m);
        }
        const back = new Uint8Array(4);
        assert.equal(p.readAt(handle, back, 100), 4);
        assert.deepEqual([...back], [9, 2, 3, 4]);
        assert.equal(p.readAt(handle, back, 8190), 2);
        assert.equal(p.readAt(handle, back, 2 ** 33), 0);
      } finally {
        p.close(handle);
        p.close(other);
      }
    });
  },
);

/** Whether this system makes real symbolic links (Wine's CreateSymbolicLinkW is a stub). */
function makesSymlinks(): boolean {
  if (!WINDOWS) return false;
  const dir = tempDir();
  try {
    writeFileSync(join(dir.path, "target"), "x");
    symlinkSync(join(dir.path, "target"), join(dir.path, "link"));
    return platform().statPath(join(dir.path, "link"))?.kind === "symlink";
  } catch {
    return false;
  } finally {
    dir.remove();
  }
}

test("a symbolic link at a lock or data path is refused, never followed", {
  skip: skip || (!makesSymlinks() && "this system makes no symbolic links"),
  timeout,
}, async () => {
  await inTempDir((dir) => {
    const p = platform();
    const target = join(dir, "target");
    writeFileSync(target, "keep");
    const link = join(dir, "link");
    symlinkSync(target, link);
    throwsCode(() => p.openFile(link, true, 0o600), "ELOOP");
    const dangling = join(dir, "dangling");
    symlinkSync(join(dir, "missing"), dangling);
    throwsCode(() => p.openFile(dangling, true, 0o600), "ELOOP");
    assert.equal(p.statPath(join(dir, "missing")), null);
    assert.equal(p.statPath(target)!.size, 4);
  });
});

// ---------------------------------------------------------------- the lock

/** A lock in a fresh temporary directory; closed and removed by `dispose`. */
function freshLock(
  options: Partial<ConstructorParameters<typeof MemoryShareLock>[1]> = {},
) {
  const dir = tempDir();
  const lock = new MemoryShareLock("win", {
    length: 16,
    dir: dir.path,
    ...options,
  });
  return {
    lock,
    dir: dir.path,
    dispose: async () => {
      await lock.close();
      dir.remove();
    },
  };
}

/** Holds `lockPath` through a handle of its own, as another process would. */
function outsideHolder(lockPath: string): () => void {
  const p = platform();
  const handle = p.openFile(lockPath, true, 0o600);
  assert.equal(p.tryLock(handle), true);
  return () => {
    p.unlock(handle);
    p.close(handle);
  };
}

windowsTest(
  "acquire, release, tryAcquire and acquireSync; memory persists between holders",
  async () => {
    const { lock, dispose } = freshLock();
    try {
      assert.equal(lock.isLocked(), false);
      const guard = await lock.acquire();
      assert.equal(guard.recovered, false);
      assert.equal(lock.isLocked(), true);
      assert.equal(lock.tryAcquire(), null);
      guard.memory.set([1, 2, 3]);
      const info = lock.info();
      assert.equal(info.holderPid, process.pid);
      assert.equal(info.locked, true);
      await guard.release();
      assert.equal(lock.isLocked(), false);

      const sync = lock.acquireSync();
      assert.deepEqual([...sync.memory.subarray(0, 4)], [1, 2, 3, 0]);
      sync.releaseSync();
      const tried = lock.tryAcquire();
      assert.ok(tried !== null);
      tried.releaseSync();
      assert.equal(lock.info().acquisitions, 3);
      assert.equal(lock.info().recoveries, 0);
    } finally {
      await dispose();
    }
  },
);

windowsTest(
  "timeouts and aborts against an outside holder; hooks run in order",
  async () => {
    const { lock, dispose } = freshLock();
    const events: string[] = [];
    lock.addAcquireHook((memory) => {
      events.push(`acquire ${memory[0]}`);
    });
    lock.addReleaseHook((memory) => {
      memory[0]++;
      events.push("release");
    });
    try {
      (await lock.acquire()).releaseSync(); // creates the files
      const release = outsideHolder(lock.lockPath);
      try {
        assert.equal(lock.isLocked(), true);
        assert.equal(lock.tryAcquire(), null);
        await assert.rejects(lock.acquire({ timeout: 0 }), LockTimeoutError);
        await assert.rejects(lock.acquire({ timeout: 50 }), LockTimeoutError);
        assert.throws(
          () => lock.acquireSync({ timeout: 50 }),
          LockTimeoutError,
        );
        const controller = new AbortController();
        const aborted = lock.acquire({ signal: controller.signal });
        setTimeout(() => controller.abort(new Error("stop")), 20);
        await assert.rejects(aborted, /stop/);
        const waiting = lock.acquire({ timeout: 10_000 });
        await sleep(30);
        release();
        const guard = await waiting;
        await guard.release();
      } catch (error) {
        release();
        throw error;
      }
      assert.deepEqual(events, [
        "acquire 0",
        "release",
        "acquire 1",
        "release",
      ]);
    } finally {
      await dispose();
    }
  },
);

windowsTest("a lock without dir lives in %TEMP%\\memshare", async () => {
  const name = `win-default-${process.pid}-${Date.now()}`;
  const lock = new MemoryShareLock(name, { length: 8 });
  try {
    assert.equal(
      lock.path.toLowerCase(),
      join(tmpdir(), "memshare", name).toLowerCase(),
    );
    await lock.run((memory) => {
      memory[0] = 1;
    });
    assert.equal(platform().statPath(lock.path)!.size, HEADER_SIZE + 8);
  } finally {
    await lock.close();
    rmSync(lock.path, { force: true });
    rmSync(lock.lockPath, { force: true });
  }
});

// ---------------------------------------------------------------- processes

/** A child process and its exit. */
interface Child {
  readonly process: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
}

/**
 * Starts `args` under this same runtime (its Windows executable). No stdio
 * pipes: Deno under Wine panics in its named-pipe code with piped children,
 * so children report through memshare itself and stderr is inherited.
 */
function spawnRuntime(args: string[]): Child {
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>(
    (resolve) => child.on("close", (code, signal) => resolve({ code, signal })),
  );
  return { process: child, exited };
}

/** Starts tests/fixtures/windows_child.ts; Deno gets only --allow-ffi. */
function startChild(args: string[]): Child {
  const script = fixture("windows_child.ts");
  return spawnRuntime(
    RUNTIME === "deno"
      ? ["run", "--quiet", "--no-prompt", "--allow-ffi", script, ...args]
      : [script, ...args],
  );
}

/** Waits for `child` to exit 0. */
async function exitsCleanly(child: Child): Promise<void> {
  const { code, signal } = await child.exited;
  assert.equal(code, 0, `child exited ${code ?? signal} (stderr above)`);
}

/**
 * Kills `child` (TerminateProcess) and waits for its exit; kills once more
 * if no exit is seen in 15 s, and fails naming the pid after 30 s, so that
 * no wait here is unbounded.
 */
async function killAndWait(child: Child): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    if (child.process.exitCode !== null) return;
    child.process.kill();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const gone = await Promise.race([
      child.exited.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), 15_000);
      }),
    ]);
    clearTimeout(timer);
    if (gone) return;
  }
  throw new Error(
    `child ${child.process.pid} did not exit within 30 s of two kills`,
  );
}

/** Kills what still runs and waits, so no child outlives its test. */
async function reap(children: Child[]): Promise<void> {
  await Promise.all(children.map(killAndWait));
}

/** Polls `check` every `every` ms until it holds (or fails after `ms`). */
async function until(
  what: string,
  check: () => boolean,
  ms = 60_000,
  every = 20,
) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(every);
  }
}

/** The u32 at `at` in a lock's memory, read under the lock. */
function readU32(lock: MemoryShareLock, at = 0): number {
  const guard = lock.acquireSync({ timeout: 10_000 });
  try {
    return new DataView(guard.memory.buffer).getUint32(at, true);
  } finally {
    guard.releaseSync();
  }
}

/** The "win" lock of `dir`, the one the fixture uses. */
function childLock(dir: string, name = "win"): MemoryShareLock {
  return new MemoryShareLock(name, { length: 16, dir });
}

windowsTest(
  "processAlive: this process yes; an exited child and an unused pid no",
  async () => {
    const p = platform();
    assert.equal(p.processAlive(p.pid()), true);
    assert.equal(p.processAlive(4 * 1_000_003), false);
    const child = spawnRuntime(["--version"]);
    const pid = child.process.pid!;
    await exitsCleanly(child);
    assert.equal(p.processAlive(pid), false);
  },
);

windowsTest(
  "children exclude each other: a read-yield-write counter comes out exact",
  async () => {
    const CHILDREN = 3;
    const ITERATIONS = 60;
    const dir = tempDir();
    const lock = childLock(dir.path);
    const ready = childLock(dir.path, "win-ready");
    const children: Child[] = [];
    try {
      // Hold the lock until every child has started, so that all contend at once.
      const gate = await lock.acquire();
      for (let i = 0; i < CHILDREN; i++) {
        children.push(
          startChild(["count", dir.path, String(ITERATIONS), String(i + 1)]),
        );
      }
      await until("the children are ready", () => readU32(ready) === CHILDREN);
      await gate.release();
      for (const child of children) await exitsCleanly(child);
      assert.equal(readU32(lock), CHILDREN * ITERATIONS);
      // The gate, every increment, and the read just above.
      assert.equal(lock.info().acquisitions, 1 + CHILDREN * ITERATIONS + 1);
      // They took turns, not one after the other: the exact count means something.
      const switches = readU32(lock, 8);
      assert.ok(switches > CHILDREN, `only ${switches} hand-overs`);
    } finally {
      await reap(children);
      await lock.close();
      await ready.close();
      dir.remove();
    }
  },
);

windowsTest(
  "a child holder is named by a timeout, and its release lets us in",
  async () => {
    const dir = tempDir();
    const lock = childLock(dir.path);
    const control = childLock(dir.path, "win-control");
    const children: Child[] = [];
    try {
      const holder = startChild(["hold", dir.path, "0102"]);
      children.push(holder);
      const pid = holder.process.pid!;
      await until(
        "the child holds the lock",
        () => lock.info().holderPid === pid,
      );
      assert.equal(lock.tryAcquire(), null);
      assert.equal(lock.isLocked(), true);
      await assert.rejects(
        lock.acquire({ timeout: 100 }),
        (e: unknown) => e instanceof LockTimeoutError && e.holderPid === pid,
      );
      const waiting = lock.acquire({ timeout: 30_000 });
      await control.run((memory) => {
        memory[0] = 1;
      });
      const guard = await waiting;
      assert.equal(guard.recovered, false);
      assert.deepEqual([...guard.memory.subarray(0, 2)], [1, 2]);
      await guard.release();
      await exitsCleanly(holder);
    } finally {
      await reap(children);
      await lock.close();
      await control.close();
      dir.remove();
    }
  },
);

/** Waits for `work` to settle, at most `ms`; never rejects. */
async function settledWithin(
  work: Promise<unknown>,
  ms: number,
): Promise<void> {
  await within(ms, work, () => "").catch(() => {});
}

/**
 * One run of the kill-and-recover case. Each step is bounded (30 s) and
 * names itself when it runs out; a watchdog prints the step every 10 s it
 * stays in one and gives up on the try after 45 s, so a stall that no
 * bound catches still says where it was (and, if the watchdog is silent
 * too, that the event loop was blocked).
 */
async function killedHolderRecovers(): Promise<void> {
  let step = "start";
  let stalled: (error: Error) => void = () => {};
  let since = Date.now();
  const at = (next: string) => {
    step = next;
    since = Date.now();
  };
  const watchdog = setInterval(() => {
    const ms = Date.now() - since;
    console.error(`TerminateProcess case: still at "${step}" after ${ms} ms`);
    // Past every step's own bound: give up on this try, naming the step.
    if (ms > 45_000) stalled(new Error(`stalled at "${step}" for ${ms} ms`));
  }, 10_000);
  const stall = new Promise<never>((_, reject) => (stalled = reject));
  stall.catch(() => {});
  const dir = tempDir();
  const lock = childLock(dir.path);
  const control = childLock(dir.path, "win-control");
  const children: Child[] = [];
  try {
    at("start the holder");
    const holder = startChild(["hold", dir.path, "cafe"]);
    children.push(holder);
    const pid = holder.process.pid!;
    at("the child holds the lock and wrote its bytes");
    // Not the header's holder alone: a kill between the child's claim and
    // its writes would find no bytes to recover.
    await Promise.race([
      until(
        "the child holds the lock and wrote its bytes",
        () => lock.info().holderPid === pid && readU32(control) === 0x100,
        30_000,
      ),
      stall,
    ]);
    at("kill the holder and wait for its exit");
    await Promise.race([killAndWait(holder), stall]);
    at("acquire after the kill");
    const guard = await Promise.race([
      lock.acquire({ timeout: 30_000 }),
      stall,
    ]);
    try {
      assert.equal(guard.recovered, true, "recovered");
      assert.deepEqual(
        [...guard.memory.subarray(0, 2)],
        [0xca, 0xfe],
        "the killed holder's bytes",
      );
    } finally {
      // Released whatever the checks said: close() waits for a holder.
      at("release");
      await Promise.race([guard.release(), stall]);
    }
    at("info");
    const info = lock.info();
    assert.equal(info.recoveries, 1);
    assert.equal(info.locked, false);
    assert.equal(info.holderPid, null);
  } finally {
    // Bounded on their own: the stall may have fired already.
    at("reap the children");
    await settledWithin(reap(children), 30_000);
    at("close the lock");
    await settledWithin(lock.close(), 30_000);
    await settledWithin(control.close(), 30_000);
    at("remove the directory");
    clearInterval(watchdog);
    try {
      dir.remove();
    } catch (error) {
      // Never in place of the error that brought us here.
      console.error(`could not remove ${dir.path}: ${error}`);
    }
  }
}

test(
  "a holder killed while holding (TerminateProcess): the next acquire recovers its data",
  // Two tries of at most ~2 min each (a stalled step gives up at 45 s).
  { skip, timeout: 300_000 },
  async () => {
    try {
      await killedHolderRecovers();
    } catch (error) {
      // Three CI runs under Wine (and 4 of 36 local runs of this file)
      // stalled here: close() waited for a guard that a failed check had
      // left held, and the directory's EPERM hid that check. Should a
      // stall come back, the first is printed with its step and the case
      // runs once more, so only a repeat fails.
      if (error instanceof assert.AssertionError) throw error;
      console.error(`first try failed, trying once more: ${error}`);
      await killedHolderRecovers();
    }
  },
);

// ---------------------------------------------------------------- wake-ups

/** The median of `values`. */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[mid]
    : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** How our side waits in `handOffs`: acquire(), acquireSync(), or polling tryAcquire() as Windows did before wake-ups. */
type Waiter = "acquire" | "acquireSync" | "poll";

/** Takes `lock` the way `how` says. */
async function take(lock: MemoryShareLock, how: Waiter): Promise<LockGuard> {
  if (how === "acquire") return await lock.acquire({ timeout: 30_000 });
  if (how === "acquireSync") return lock.acquireSync({ timeout: 30_000 });
  for (let attempt = 0;; attempt++) {
    const guard = lock.tryAcquire();
    if (guard !== null) return guard;
    await sleep(pollDelay(attempt));
  }
}

/**
 * Times `rounds` hand-offs from a child's release (`relay` mode of the
 * fixture) to our taking the lock `how`, in ms.
 */
async function handOffs(rounds: number, how: Waiter): Promise<number[]> {
  const HOLD_MS = 30;
  const now = machineClock();
  const dir = tempDir();
  const lock = childLock(dir.path);
  const control = childLock(dir.path, "win-control");
  const children: Child[] = [];
  const times: number[] = [];
  try {
    (await lock.acquire()).releaseSync(); // the files, mapped on our side too
    let taken = lock.info().acquisitions;
    const child = startChild(["relay", dir.path, String(rounds), `${HOLD_MS}`]);
    children.push(child);
    for (let round = 1; round <= rounds; round++) {
      // The child holds for HOLD_MS: we are asleep in the wait by its
      // release. (The count, unlike the holder, cannot be missed.)
      await until(
        "the child takes the lock",
        () => {
          return lock.info().acquisitions > taken;
        },
        60_000,
        5,
      );
      const guard = await take(lock, how);
      taken = lock.info().acquisitions;
      const took = now();
      const view = new DataView(guard.memory.buffer);
      assert.equal(view.getUint32(0, true), round);
      times.push(took - view.getFloat64(8, true));
      await control.run((memory) => {
        new DataView(memory.buffer).setUint32(0, round, true);
      });
      guard.releaseSync();
    }
    await exitsCleanly(child);
    return times;
  } finally {
    await reap(children);
    await lock.close();
    await control.close();
    dir.remove();
  }
}

/** Measures hand-offs to `how` and, as the same run's baseline, to polling; asserts the wake-up is much faster. */
async function handOffBeatsPolling(how: Waiter, rounds: number) {
  const times = await handOffs(rounds, how);
  const polled = await handOffs(20, "poll");
  const ms = median(times);
  const baseline = median(polled);
  console.log(
    `hand-off child release → ${how}(), ${RUNTIME}: median ${
      ms.toFixed(3)
    } ms (min ${Math.min(...times).toFixed(3)}, max ${
      Math.max(...times).toFixed(3)
    }); polling as before, same run: ${baseline.toFixed(3)} ms; ratio ${
      (ms / baseline).toFixed(2)
    }`,
  );
  assert.ok(Math.min(...times, ...polled) > -1, "the clocks disagree");
  assert.ok(ms < 5, `median hand-off ${ms} ms`);
  // Under Wine polling's 1-4 ms sleeps measured 1.6-4.7 ms, a wake-up
  // 0.3-2 ms (ratio 0.1-0.6; Wine's own system calls take ~0.4 ms of it,
  // and a busy machine more: the ratio came near 0.9 under a load of 2.8).
  assert.ok(ms < baseline, `${ms} ms is no faster than polling`);
}

windowsTest(
  "hand-off: a child's release wakes our waiting acquire() at once, not at a poll",
  () => handOffBeatsPolling("acquire", 20),
);

windowsTest(
  "hand-off: a child's release wakes a blocked acquireSync() at once",
  () => handOffBeatsPolling("acquireSync", 12),
);

/** A wait on `lockPath` as the lock layer makes it before the data file is mapped. */
function waitOn(lockPath: string): LockWait {
  return { lockPath, mapping: null, offset: 16, expected: 0 };
}

/** Asserts that a fresh handle of `lockPath` takes and releases its lock at once. */
function nobodyHolds(lockPath: string): void {
  const p = platform();
  const handle = p.openFile(lockPath, false, 0o600);
  try {
    assert.equal(p.tryLock(handle), true, "something still holds the lock");
    p.unlock(handle);
  } finally {
    p.close(handle);
  }
}

windowsTest(
  "waits: a timeout ends them on time, interruptWait at once, and they leave the lock to others",
  async () => {
    await inTempDir(async (dir) => {
      const p = platform();
      const lockPath = join(dir, "x.lock");
      const release = outsideHolder(lockPath);
      try {
        let start = performance.now();
        await p.waitAny([waitOn(lockPath)], 60);
        let took = performance.now() - start;
        assert.ok(took >= 50 && took < 1_000, `waitAny(60) took ${took} ms`);

        start = performance.now();
        const waiting = p.waitAny([waitOn(lockPath)], 20_000);
        setTimeout(() => p.interruptWait(), 30);
        await waiting;
        took = performance.now() - start;
        assert.ok(took >= 20 && took < 1_000, `interrupted after ${took} ms`);

        start = performance.now();
        p.waitSync(waitOn(lockPath), 60);
        took = performance.now() - start;
        assert.ok(took >= 50 && took < 1_000, `waitSync(60) took ${took} ms`);
        // An interrupt with no wait in flight is not kept for the next one.
        p.interruptWait();
        start = performance.now();
        await p.waitAny([waitOn(lockPath)], 40);
        took = performance.now() - start;
        assert.ok(took >= 30, `waitAny(40) took ${took} ms`);
      } finally {
        release();
      }
      nobodyHolds(lockPath);
    });
  },
);

windowsTest(
  "acquire: timeouts and aborts settle on time and leave nothing holding the lock",
  async () => {
    const { lock, dispose } = freshLock();
    try {
      (await lock.acquire()).releaseSync(); // creates the files
      const release = outsideHolder(lock.lockPath);
      try {
        let start = performance.now();
        await assert.rejects(lock.acquire({ timeout: 120 }), LockTimeoutError);
        let took = performance.now() - start;
        assert.ok(took >= 110 && took < 1_000, `timed out after ${took} ms`);

        const controller = new AbortController();
        const reason = new Error("stop");
        start = performance.now();
        const aborted = lock.acquire({ signal: controller.signal });
        setTimeout(() => controller.abort(reason), 40);
        await assert.rejects(aborted, (e: unknown) => e === reason);
        took = performance.now() - start;
        assert.ok(took >= 30 && took < 1_000, `aborted after ${took} ms`);

        start = performance.now();
        assert.throws(
          () => lock.acquireSync({ timeout: 120 }),
          LockTimeoutError,
        );
        took = performance.now() - start;
        assert.ok(took >= 110 && took < 1_000, `sync: after ${took} ms`);
        // Many waits at once, all given up.
        const many = Array.from(
          { length: 5 },
          () => lock.acquire({ timeout: 80 }),
        );
        for (const one of many) await assert.rejects(one, LockTimeoutError);
      } finally {
        release();
      }
      nobodyHolds(lock.lockPath);
      assert.equal(lock.isLocked(), false);
      (await lock.acquire({ timeout: 1_000 })).releaseSync();
    } finally {
      await dispose();
    }
  },
);

windowsTest(
  "more locks waited on than WaitForMultipleObjects takes (64) are all acquired",
  async () => {
    const COUNT = 70;
    const dir = tempDir();
    const locks = Array.from(
      { length: COUNT },
      (_, i) => new MemoryShareLock(`many-${i}`, { length: 8, dir: dir.path }),
    );
    const releases: (() => void)[] = [];
    try {
      for (const lock of locks) (await lock.acquire()).releaseSync();
      for (const lock of locks) releases.push(outsideHolder(lock.lockPath));
      const acquired = locks.map((lock) => lock.acquire({ timeout: 30_000 }));
      await sleep(50);
      // The last ones first: those beyond the first 63 wait by slices.
      for (const release of releases.splice(0).reverse()) {
        release();
        await sleep(2);
      }
      for (const guard of await Promise.all(acquired)) guard.releaseSync();
      for (const lock of locks) nobodyHolds(lock.lockPath);
    } finally {
      for (const release of releases) release();
      for (const lock of locks) await lock.close();
      dir.remove();
    }
  },
);

windowsTest(
  "a release by a plain LockFileEx client (not memshare) wakes a waiting acquire at once",
  async () => {
    const { lock, dispose } = freshLock();
    try {
      (await lock.acquire()).releaseSync();
      const times: number[] = [];
      for (let round = 0; round < 10; round++) {
        const release = outsideHolder(lock.lockPath);
        const waiting = lock.acquire({ timeout: 10_000 });
        // At a different point of the wait loop's 10 ms slice each round.
        await sleep(20 + (round * 3.7) % 10);
        const start = performance.now();
        release();
        (await waiting).releaseSync();
        times.push(performance.now() - start);
      }
      const ms = median(times);
      if (lockWaitsComplete() !== true) {
        // Wine 10 drops a waiting LockFileEx ("Async I/O lock wait not
        // implemented"): only memshare releasers wake waiters there.
        console.log(
          `not measured: this system never completes a waiting LockFileEx; a plain client's release was seen after ${
            ms.toFixed(3)
          } ms (median, the wait loop's slice)`,
        );
        return;
      }
      console.log(`plain client's release → acquire(): median ${ms} ms`);
      assert.ok(ms < 2, `median ${ms} ms`);
    } finally {
      await dispose();
    }
  },
);

// -------------------------------------------- the probe, against a fake kernel

const STATUS_PENDING = 0x103;
const STATUS_CANCELLED = 0xc000_0120;

/** kernel32 as a probe sees it, scripted: how LockFileEx and CancelIoEx answer. */
class FakeKernel implements ProbeKernel {
  lock: "grant" | "pend" | "untracked" | "fail" = "pend";
  cancel: "cancelled" | "granted" | "completed" | "fail" = "cancelled";
  readonly calls: string[] = [];
  readonly open = new Set<number>();
  #next = 100;
  #error = 0;
  #overlapped?: Uint8Array;

  /** The request's status, as the kernel would write it. */
  set status(value: number) {
    new DataView(this.#overlapped!.buffer, this.#overlapped!.byteOffset)
      .setUint32(0, value, true);
  }
  get status(): number {
    return new DataView(this.#overlapped!.buffer, this.#overlapped!.byteOffset)
      .getUint32(0, true);
  }
  get event(): bigint {
    return new DataView(this.#overlapped!.buffer, this.#overlapped!.byteOffset)
      .getBigUint64(24, true);
  }

  CreateFileW(): number {
    this.calls.push("open");
    this.open.add(this.#next);
    return this.#next++;
  }
  CloseHandle(handle: number): number {
    this.calls.push("close");
    return this.open.delete(handle) ? 1 : 0;
  }
  GetLastError(): number {
    return this.#error;
  }
  ResetEvent(): number {
    this.calls.push("reset");
    return 1;
  }
  LockFileEx(
    _handle: number,
    flags: number,
    _reserved: number,
    low: number,
    high: number,
    overlapped: Uint8Array,
  ): number {
    this.calls.push(`lock flags=${flags} length=${low},${high}`);
    this.#overlapped = overlapped;
    if (this.lock === "grant") this.status = 0;
    if (this.lock === "pend") this.status = STATUS_PENDING;
    if (this.lock === "grant") return 1;
    this.#error = this.lock === "fail" ? 1 : 997;
    return 0;
  }
  UnlockFileEx(): number {
    this.calls.push("unlock");
    return 1;
  }
  CancelIoEx(): number {
    this.calls.push("cancel");
    if (this.cancel === "fail") {
      this.#error = 6;
      return 0;
    }
    if (this.cancel === "completed") {
      this.status = 0; // granted just before: nothing left to cancel
      this.#error = 1168;
      return 0;
    }
    this.status = this.cancel === "granted" ? 0 : STATUS_CANCELLED;
    return 1;
  }
  GetOverlappedResult(): number {
    this.calls.push("result");
    if (this.status === 0) return 1;
    this.#error = 995;
    return 0;
  }
}

/** A probe over `k`, with event 42. */
function probeOver(k: FakeKernel): LockProbe {
  return new LockProbe(k, 42, new Uint8Array(new ArrayBuffer(32)));
}

const PATH = new Uint8Array(4);

test("probe: asks for a shared lock of byte 0 that waits, signalling its event", () => {
  const k = new FakeKernel();
  const probe = probeOver(k);
  assert.equal(probe.arm(PATH), "pending");
  assert.deepEqual(k.calls, ["open", "reset", "lock flags=0 length=1,0"]);
  assert.equal(k.event, 42n);
  assert.equal(probe.pending, true);
  assert.equal(probe.completed, false);
  assert.equal(k.open.size, 1);
  probe.settle();
});

test("probe: a lock free at once is let go of at once", () => {
  const k = new FakeKernel();
  k.lock = "grant";
  const probe = probeOver(k);
  assert.equal(probe.arm(PATH), "free");
  assert.deepEqual(k.calls.slice(3), ["unlock", "close"]);
  assert.equal(probe.pending, false);
  assert.equal(probe.settle(), false);
  assert.equal(k.open.size, 0);
});

test("probe: granted while waiting → settle unlocks, without cancelling", () => {
  const k = new FakeKernel();
  const probe = probeOver(k);
  probe.arm(PATH);
  k.status = 0;
  assert.equal(probe.completed, true);
  assert.equal(probe.settle(), true);
  assert.deepEqual(k.calls.slice(3), ["unlock", "close"]);
  assert.equal(k.open.size, 0);
  assert.equal(probe.settle(), false, "settle is idempotent");
  assert.equal(probe.reusable, true);
});

test("probe: still waiting → settle cancels, waits for the cancel, holds nothing", () => {
  const k = new FakeKernel();
  const probe = probeOver(k);
  probe.arm(PATH);
  assert.equal(probe.settle(), false);
  assert.deepEqual(k.calls.slice(3), ["cancel", "result", "close"]);
  assert.equal(k.open.size, 0);
  assert.equal(probe.reusable, true);
});

test("probe: granted just as it is cancelled → settle unlocks", () => {
  for (const cancel of ["granted", "completed"] as const) {
    const k = new FakeKernel();
    k.cancel = cancel;
    const probe = probeOver(k);
    probe.arm(PATH);
    assert.equal(probe.settle(), true, cancel);
    assert.deepEqual(k.calls.slice(3), [
      "cancel",
      "result",
      "unlock",
      "close",
    ]);
    assert.equal(k.open.size, 0);
  }
});

test("probe: a cancel that fails closes the handle and retires the OVERLAPPED", () => {
  const k = new FakeKernel();
  k.cancel = "fail";
  const probe = probeOver(k);
  probe.arm(PATH);
  assert.equal(probe.settle(), false);
  assert.deepEqual(k.calls.slice(3), ["cancel", "close"]);
  assert.equal(k.open.size, 0);
  assert.equal(probe.reusable, false);
});

test("probe: pending but untracked (Wine) is reported, closed and never reused", () => {
  const k = new FakeKernel();
  k.lock = "untracked";
  const probe = probeOver(k);
  assert.equal(probe.arm(PATH), "untracked");
  assert.equal(probe.pending, false);
  assert.equal(probe.reusable, false);
  assert.equal(k.open.size, 0);
  assert.equal(probe.settle(), false);
  assert.ok(!k.calls.includes("cancel"));
});

test("probe: a lock call that fails, or a file that does not open, waits for nothing", () => {
  const k = new FakeKernel();
  k.lock = "fail";
  const probe = probeOver(k);
  assert.equal(probe.arm(PATH), "failed");
  assert.equal(k.open.size, 0);
  const unopened = new FakeKernel();
  unopened.CreateFileW = () => -1;
  assert.equal(probeOver(unopened).arm(PATH), "failed");
  assert.deepEqual(unopened.calls, []);
});
