/**
 * (b) Hand-off latency: two processes ping-pong one lock. The waiter
 * announces itself in the control block and blocks in acquire; the holder
 * keeps the lock 1–8 ms longer (seeded, so the waiter really waits), writes a
 * CLOCK_MONOTONIC timestamp into shared memory and releases; the waiter reads
 * the clock right after its acquire returns. Latency = the difference.
 *
 * The same protocol runs over memshare (async and sync) and over the raw
 * baselines: blocking FFI `flock` on the main thread, `flock` as a Deno
 * `nonblocking: true` call, `flock` blocking in a Worker, Deno's
 * `await FsFile.lock()` — and over the least a lock keeping memshare's
 * contract must do, synchronously (`raw-sync-minimal`) and asynchronously
 * (`raw-async-minimal`): lower bounds for `acquireSync()` and
 * `await acquire()`.
 *
 * @module
 */

import { join, resolve } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { type LockGuard, MemoryShareLock } from "../mod.ts";
import { currentPlatform } from "../src/ffi/current.ts";
import { Control, sleepSync } from "./control.ts";
import { openDenoFile } from "./deno_file.ts";
import {
  libc,
  LOCK_EX,
  LOCK_UN,
  mapFile,
  monoNs,
  nonblockingFlock,
  openFd,
} from "./libc.ts";
import { runChild, RUNTIME } from "./proc.ts";
import { quantile } from "./stats.ts";
import type { Row } from "./table.ts";

/** The hand-off variants. */
export type Variant =
  | "memshare-async"
  | "memshare-async-timeout"
  | "memshare-sync"
  | "raw-sync"
  | "raw-sync-minimal"
  | "raw-async-minimal"
  | "raw-nonblocking"
  | "raw-worker"
  | "raw-worker-notify"
  | "fsfile";

/** Row names of the variants. */
export const VARIANT_NAMES: Record<Variant, string> = {
  "memshare-async": "await acquire() ← await release()",
  "memshare-async-timeout":
    "await acquire({ timeout: 60_000 }) ← await release()",
  "memshare-sync": "acquireSync() ← releaseSync()",
  "raw-sync": "raw FFI flock(EX) blocking the main thread",
  "raw-sync-minimal":
    "raw FFI flock(EX) blocking + header claim, view, detach (the contract's least)",
  "raw-async-minimal":
    "off-thread futex sleep + flock(EX|NB) + header claim, view, detach (the async contract's least)",
  "raw-nonblocking": "raw FFI flock(EX) nonblocking:true (pool thread)",
  "raw-worker": "raw FFI flock(EX) blocking in a Worker",
  "raw-worker-notify":
    "raw FFI flock(EX) blocking in a Worker, Atomics.notify → waitAsync",
  "fsfile": "Deno await FsFile.lock() ← unlock()",
};

/** Name of the C hand-off row. */
export const C_HANDOFF = "C flock(EX) blocking (fork, same protocol)";

// Control block layout.
const GO = 0;
const WAITING = 1;
const ACQUIRED = 2;
const STAMP = 2; // f64 slot (bytes 16..23)
const RESULTS = 16; // f64 slots from byte 128

/** How long the holder keeps the lock in round `r` after the waiter announced itself: 1–8 ms. */
export function holdMs(r: number): number {
  return 1 + ((Math.imul(r, 2654435761) >>> 0) % 7000) / 1000;
}

/**
 * Runs `MEMSHARE_BENCH_WARM` (default 0) uncontended acquire + release
 * pairs, sync and async, on a lock of its own: a JIT warm-up of the
 * library's claim and release paths before the ping-pong (each process
 * makes only `rounds / 2` acquires in it, mostly in the interpreter).
 */
async function warmUp(Lock: typeof MemoryShareLock, dir: string) {
  const n = Number(process.env.MEMSHARE_BENCH_WARM ?? 0);
  if (n === 0) return;
  const lock = new Lock(`warm-${process.pid}`, { length: 64, dir });
  for (let i = 0; i < n; i++) {
    const guard = lock.acquireSync();
    guard.memory[0]++;
    guard.releaseSync();
    const g = await lock.acquire();
    g.memory[0]++;
    await g.release();
  }
  await lock.close();
}

/** One side's view of the lock under test. */
export interface Locker {
  acquire(): void | Promise<void>;
  release(): void | Promise<void>;
  /** Where the holder's timestamp goes; valid while holding. */
  stamp(): Float64Array;
  close(): void | Promise<void>;
}

/**
 * Builds the lock of `variant` over files in `dir`. memshare variants use
 * the library at `tree` (a directory holding `mod.ts`, e.g. a `git archive`
 * of another revision) when given, else this checkout's.
 */
export async function makeLocker(
  variant: Variant,
  dir: string,
  ctl: Control,
  tree?: string,
): Promise<Locker> {
  const lockPath = join(dir, `${variant}.lock`);
  const ctlStamp = ctl.floats.subarray(STAMP, STAMP + 1);
  if (
    variant === "memshare-async" || variant === "memshare-sync" ||
    variant === "memshare-async-timeout"
  ) {
    const Lock: typeof MemoryShareLock = tree === undefined
      ? MemoryShareLock
      : (await import(pathToFileURL(resolve(tree, "mod.ts")).href))
        .MemoryShareLock;
    const lock = new Lock(`${variant}-data`, { length: 64, dir });
    await warmUp(Lock, dir);
    let guard: LockGuard | null = null;
    const stamp = () => {
      const memory = guard!.memory;
      return new Float64Array(memory.buffer, memory.byteOffset, 1);
    };
    // No argument at all for memshare-async: the call a user makes most.
    const options = variant === "memshare-async-timeout"
      ? { timeout: 60_000 }
      : undefined;
    return variant !== "memshare-sync"
      ? {
        acquire: async () => {
          guard = await lock.acquire(options);
        },
        release: () => guard!.release(),
        stamp,
        close: () => lock.close(),
      }
      : {
        acquire: () => {
          guard = lock.acquireSync();
        },
        release: () => guard!.releaseSync(),
        stamp,
        close: () => lock.close(),
      };
  }
  if (variant === "fsfile") {
    const file = openDenoFile(lockPath);
    if (file === undefined) throw new Error("FsFile needs Deno");
    return {
      acquire: () => file.lock(true),
      release: () => file.unlock(),
      stamp: () => ctlStamp,
      close: () => file.close(),
    };
  }
  const fd = openFd(lockPath);
  const release = () => {
    if (libc.flock(fd, LOCK_UN) !== 0) throw new Error("flock UN");
  };
  const close = () => void libc.close(fd);
  if (variant === "raw-sync") {
    return {
      acquire: () => {
        if (libc.flock(fd, LOCK_EX) !== 0) throw new Error("flock EX");
      },
      release,
      stamp: () => ctlStamp,
      close,
    };
  }
  if (variant === "raw-sync-minimal") {
    // The least any lock keeping this contract adds to the blocking flock:
    // a compare-and-swap of the holder word in a shared header (a lock file
    // replaced under a holder), the acquisition count, the holder's since
    // (a clock read), the shared bytes handed out as a view of the mapping,
    // and, before the unlock, the holder word cleared and every view
    // detached (a view kept past release must not reach the next holder).
    const header = new Int32Array(mapFile(join(dir, "minimal.header"), 4096));
    const since = new Float64Array(header.buffer, 8, 1);
    let region = mapFile(join(dir, "minimal.data"), 4096);
    let view: Float64Array | null = null;
    const pid = process.pid;
    return {
      acquire: () => {
        if (libc.flock(fd, LOCK_EX) !== 0) throw new Error("flock EX");
        if (Atomics.compareExchange(header, 0, 0, pid) !== 0) {
          throw new Error("header holder word not free");
        }
        Atomics.add(header, 1, 1);
        since[0] = Date.now();
      },
      release: () => {
        Atomics.store(header, 0, 0);
        if (view !== null) {
          region = region.transfer();
          view = null;
        }
        release();
      },
      stamp: () => (view ??= new Float64Array(region, 0, 1)),
      close,
    };
  }
  if (variant === "raw-async-minimal") return asyncMinimal(dir, lockPath);
  if (variant === "raw-nonblocking") {
    const flock = nonblockingFlock();
    if (flock === undefined) throw new Error("nonblocking FFI needs Deno");
    return {
      acquire: async () => {
        if (await flock(fd, LOCK_EX) !== 0) throw new Error("flock EX");
      },
      release,
      stamp: () => ctlStamp,
      close,
    };
  }
  const worker = new Worker(
    new URL("./flock_worker.ts", import.meta.url).href,
    {
      type: "module",
    },
  );
  let pending: ((result: unknown) => void) | null = null;
  worker.onmessage = (event: MessageEvent) => pending?.(event.data);
  const next = () => new Promise((resolve) => (pending = resolve));
  await next(); // "ready"
  if (variant === "raw-worker-notify") {
    const signal = new Int32Array(new SharedArrayBuffer(8));
    return {
      acquire: async () => {
        const seen = Atomics.load(signal, 0);
        worker.postMessage({ fd, signal });
        // Deno does not keep the event loop alive for a waitAsync alone.
        const alive = setTimeout(() => {}, 600_000);
        const wait = Atomics.waitAsync(signal, 0, seen);
        if (wait.async) await wait.value;
        clearTimeout(alive);
        if (signal[1] !== 0) throw new Error("flock EX in worker");
      },
      release,
      stamp: () => ctlStamp,
      close: () => {
        worker.terminate();
        close();
      },
    };
  }
  return {
    acquire: async () => {
      const done = next();
      worker.postMessage(fd);
      if (await done !== 0) throw new Error("flock EX in worker");
    },
    release,
    stamp: () => ctlStamp,
    close: () => {
      worker.terminate();
      close();
    },
  };
}

/** Header words of the async least: holder pid, acquisitions, wake sequence, waiters. */
const HOLDER = 0, COUNT = 1, WAKE = 2, SLEEPERS = 3;

/**
 * The least an `await acquire()` keeping this contract adds to the
 * runtime's off-thread wait. A waiter off the JavaScript thread cannot
 * block in `flock` (that wait cannot be cancelled on timeout, abort or
 * close), so it sleeps on a futex word through the library's own platform
 * layer — the same off-thread sleep as the library (Deno: a `nonblocking`
 * call on the FFI pool; Bun: a Worker) — counted in a shared header; the
 * releaser clears the holder word, detaches the view, unlocks, and wakes a
 * counted sleeper. After a wake-up the waiter takes `flock(LOCK_EX|LOCK_NB)`
 * and claims the header as `raw-sync-minimal` does. No queue, no timers, no
 * hooks: a lower bound for `await acquire()`, not a lock to use.
 */
function asyncMinimal(dir: string, lockPath: string): Locker {
  const platform = currentPlatform();
  const handle = platform.openFile(lockPath, true, 0o600);
  const file = platform.openFile(join(dir, "async-minimal.data"), true, 0o600);
  platform.extend(file, 8192);
  const mapping = platform.map(file, 8192);
  const header = new Int32Array(mapping.buffer(0, 64));
  const since = new Float64Array(mapping.buffer(64, 8));
  let region = mapping.buffer(4096, 4096);
  let view: Float64Array | null = null;
  const pid = process.pid;
  const claim = () => {
    if (Atomics.compareExchange(header, HOLDER, 0, pid) !== 0) {
      throw new Error("header holder word not free");
    }
    Atomics.add(header, COUNT, 1);
    since[0] = Date.now();
  };
  return {
    acquire: async () => {
      if (platform.tryLock(handle)) return claim();
      Atomics.add(header, SLEEPERS, 1);
      for (;;) {
        // Read before the try: a release between the two is not missed.
        const expected = Atomics.load(header, WAKE);
        if (platform.tryLock(handle)) break;
        await platform.waitAny(
          [{ lockPath, mapping, offset: WAKE * 4, expected }],
          10,
        );
      }
      Atomics.sub(header, SLEEPERS, 1);
      claim();
    },
    release: () => {
      Atomics.store(header, HOLDER, 0);
      if (view !== null) {
        region = region.transfer();
        view = null;
      }
      platform.unlock(handle);
      if (Atomics.load(header, SLEEPERS) > 0) {
        Atomics.add(header, WAKE, 1);
        platform.wake(mapping, WAKE * 4);
      }
    },
    stamp: () => (view ??= new Float64Array(region, 0, 1)),
    close: () => {
      platform.close(handle);
      platform.close(file);
    },
  };
}

/**
 * Plays one side of the ping-pong for `rounds` rounds. Side 0 takes the lock
 * first and releases in odd rounds; side 1 waits in odd rounds. The waiter
 * of round r stores its latency in the control block. `mark`, when given,
 * hears each round's stamp and acquisition times (`bench/handoff_split.ts`).
 */
export async function participate(
  locker: Locker,
  ctl: Control,
  side: 0 | 1,
  rounds: number,
  mark?: (what: "stamped" | "acquired", round: number, ns: number) => void,
): Promise<void> {
  const words = ctl.words;
  let holding = false;
  if (side === 0) {
    await locker.acquire();
    holding = true;
    Atomics.store(words, GO, 1);
  } else {
    ctl.waitFor(GO, 1);
  }
  for (let r = 1; r <= rounds; r++) {
    if (side === (r % 2 === 1 ? 0 : 1)) {
      ctl.waitFor(WAITING, r);
      sleepSync(holdMs(r));
      const stamp = locker.stamp();
      const now = monoNs();
      stamp[0] = now;
      mark?.("stamped", r, now);
      const released = locker.release();
      if (released !== undefined) await released;
      holding = false;
      ctl.waitFor(ACQUIRED, r);
    } else {
      Atomics.store(words, WAITING, r);
      const acquired = locker.acquire();
      if (acquired !== undefined) await acquired;
      const now = monoNs();
      holding = true;
      ctl.floats[RESULTS + r] = now - locker.stamp()[0];
      mark?.("acquired", r, now);
      Atomics.store(words, ACQUIRED, r);
    }
  }
  if (holding) await locker.release();
  await locker.close();
}

/**
 * Runs `variant` with a peer process; returns the latencies (ns) of the
 * rounds after `warmup`. `tree`: see `makeLocker`.
 */
export async function handoffSamples(
  variant: Variant,
  dir: string,
  rounds: number,
  warmup: number,
  tree?: string,
): Promise<number[]> {
  const ctlPath = join(dir, `${variant}.ctl`);
  const ctl = new Control(ctlPath);
  const locker = await makeLocker(variant, dir, ctl, tree);
  const total = rounds + warmup;
  const peer = runChild("handoff_peer.ts", [
    variant,
    dir,
    ctlPath,
    String(total),
    ...(tree === undefined ? [] : [tree]),
  ]);
  await participate(locker, ctl, 0, total);
  await peer;
  return Array.from(
    ctl.floats.subarray(RESULTS + warmup + 1, RESULTS + total + 1),
  );
}

/** Measures every hand-off variant this runtime has. */
export async function handoff(
  dir: string,
  rounds: number,
  warmup: number,
  log: (message: string) => void,
): Promise<Row[]> {
  const asyncRaw: Variant = RUNTIME === "deno"
    ? "raw-nonblocking"
    : "raw-worker";
  const variants: Variant[] = [
    "raw-sync",
    "raw-sync-minimal",
    asyncRaw,
    "raw-async-minimal",
    "memshare-async",
    "memshare-sync",
    ...(RUNTIME === "deno" ? ["raw-worker", "fsfile"] as Variant[] : []),
  ];
  const p50 = new Map<Variant, number>();
  const rows: Row[] = [];
  for (const variant of variants) {
    log(`hand-off: ${VARIANT_NAMES[variant]}`);
    const samples = await handoffSamples(variant, dir, rounds, warmup);
    const row: Row = {
      section: "hand-off",
      operation: VARIANT_NAMES[variant],
      runtime: RUNTIME,
      unit: "ns",
      value: quantile(samples, 0.5),
      p90: quantile(samples, 0.9),
      p99: quantile(samples, 0.99),
      notes: `${samples.length} hand-offs, holder keeps 1–8 ms`,
    };
    p50.set(variant, row.value);
    const against = (base: Variant) => ({
      name: VARIANT_NAMES[base].replace(/ \(.*\)$/, ""),
      value: p50.get(base)!,
    });
    if (variant === "raw-sync") row.baselineRef = C_HANDOFF;
    else if (variant === "memshare-async") {
      row.baseline = against(asyncRaw);
      row.target = { compare: "<=", ratio: 2 };
    } else if (variant === "memshare-sync") {
      row.baseline = against("raw-sync");
      row.target = { compare: "<=", ratio: 2 };
    } else if (variant === "fsfile" || variant === "raw-async-minimal") {
      row.baseline = against(asyncRaw);
    } else row.baseline = against("raw-sync");
    rows.push(row);
  }
  return rows;
}
