/**
 * One stress operation: take the lock in a randomly chosen way — async
 * `acquire`, `acquireSync`, `tryAcquire` or `run`, with a random timeout
 * (0, short, long or none) and sometimes an AbortSignal aborted at a random
 * moment — run the critical section, release. Counts what happened.
 *
 * @module
 */

import {
  type LockGuard,
  LockHeldError,
  LockTimeoutError,
  type MemoryShareLock,
} from "../mod.ts";
import {
  criticalSection,
  criticalSectionSync,
  type Holder,
} from "./critical.ts";
import { regionWords } from "./layout.ts";
import { randomPace, sleep } from "./pace.ts";
import { between, chance, pick } from "./random.ts";

/** The ways a task takes the lock. */
export type Method = "acquire" | "acquireSync" | "tryAcquire" | "run";

/** What one task did. */
export interface TaskStats {
  /** Its slot. */
  slot: number;
  /** Critical sections completed. */
  completed: number;
  /** Critical sections completed, by how the lock was taken. */
  byMethod: Record<Method, number>;
  /** Acquires that timed out (`LockTimeoutError`). */
  timeouts: number;
  /** Acquires rejected by their AbortSignal. */
  aborts: number;
  /** `tryAcquire()` calls that returned null. */
  misses: number;
  /** `acquireSync` refused because another task of this process held the lock. */
  heldHere: number;
  /** Guards that came back `recovered`. */
  recovered: number;
}

/** New, zeroed stats for `slot`. */
export function newStats(slot: number): TaskStats {
  return {
    slot,
    completed: 0,
    byMethod: { acquire: 0, acquireSync: 0, tryAcquire: 0, run: 0 },
    timeouts: 0,
    aborts: 0,
    misses: 0,
    heldHere: 0,
    recovered: 0,
  };
}

/**
 * What the tasks of one process share: how many hold or are taking the
 * lock, so a task whose acquire was rejected can check that the process
 * does not hold the lock behind its back.
 */
export interface Realm {
  /** Tasks holding a guard. */
  holding: number;
  /** Tasks inside an acquire call (settled or not). */
  acquiring: number;
  /** This process's pid. */
  readonly pid: number;
}

/** An acquire timeout: 0 (one try), short, long, or none (wait for ever). */
function randomTimeout(): number | undefined {
  return {
    zero: 0,
    short: Math.floor(between(1, 20)),
    long: Math.floor(between(200, 3_000)),
    none: undefined,
  }[pick({ zero: 2, short: 3, long: 3, none: 1 })];
}

/** The reason the stress test aborts with, told apart from library errors. */
class StressAbort extends Error {}

/** Sometimes a signal, aborted at a random moment (sometimes already aborted). */
function randomSignal(): { signal?: AbortSignal; cancel(): void } {
  if (!chance(0.2)) return { cancel() {} };
  const controller = new AbortController();
  if (chance(0.1)) {
    controller.abort(new StressAbort("aborted up front"));
    return { signal: controller.signal, cancel() {} };
  }
  const timer = setTimeout(
    () => controller.abort(new StressAbort("aborted while waiting")),
    between(0, 10),
  );
  return { signal: controller.signal, cancel: () => clearTimeout(timer) };
}

/**
 * Runs one operation for task `me`; returns the problems its critical
 * section found (exclusion violations), after updating `stats`.
 */
export async function operation(
  lock: MemoryShareLock,
  me: Holder,
  stats: TaskStats,
  realm: Realm,
  maxHold: number,
): Promise<string[]> {
  const method = pick<Method>({
    acquire: 4,
    acquireSync: 2,
    tryAcquire: 2,
    run: 2,
  });
  const pace = randomPace(maxHold);
  const timeout = randomTimeout();
  let guard: LockGuard | null = null;
  let problems: string[] = [];
  const { signal, cancel } = method === "acquire" || method === "run"
    ? randomSignal()
    : { signal: undefined, cancel() {} };
  realm.acquiring++;
  try {
    if (method === "run") {
      problems = await lock.run(async (memory, held) => {
        realm.acquiring--;
        realm.holding++;
        try {
          return await section(memory, held.recovered, true);
        } finally {
          realm.holding--;
          realm.acquiring++;
        }
      }, { timeout, signal });
      return problems;
    }
    if (method === "acquire") {
      guard = await lock.acquire({ timeout, signal });
    } else if (method === "acquireSync") {
      guard = lock.acquireSync({ timeout });
    } else {
      guard = lock.tryAcquire();
      if (guard === null) {
        stats.misses++;
        return rejectedCheck();
      }
    }
    realm.acquiring--;
    realm.holding++;
    try {
      // Sync acquires hold synchronously half the time: releaseSync right after.
      const sync = method !== "acquire" && chance(0.5);
      problems = sync
        ? sectionSync(guard.memory, guard.recovered)
        : await section(guard.memory, guard.recovered, false);
      if (sync) guard.releaseSync();
      else await guard.release();
    } finally {
      realm.holding--;
      realm.acquiring++;
    }
    return problems;
  } catch (error) {
    if (error instanceof LockTimeoutError) stats.timeouts++;
    else if (error instanceof StressAbort) stats.aborts++;
    else if (error instanceof LockHeldError) stats.heldHere++;
    else throw error;
    return rejectedCheck();
  } finally {
    realm.acquiring--;
    cancel();
  }

  async function section(
    memory: Uint8Array,
    recovered: boolean,
    viaRun: boolean,
  ): Promise<string[]> {
    if (recovered) stats.recovered++;
    const found = await criticalSection(
      regionWords(memory),
      me,
      recovered,
      pace,
    );
    count(viaRun ? "run" : method);
    return found;
  }

  function sectionSync(memory: Uint8Array, recovered: boolean): string[] {
    if (recovered) stats.recovered++;
    const found = criticalSectionSync(regionWords(memory), me, recovered, pace);
    count(method);
    return found;
  }

  function count(how: Method): void {
    stats.completed++;
    stats.byMethod[how]++;
  }

  /**
   * A rejected acquire must not leave the lock held: when no other task of
   * this process holds it or is taking it, the header must not name us.
   */
  function rejectedCheck(): string[] {
    if (realm.holding > 0 || realm.acquiring > 1) return [];
    const holder = lock.info().holderPid;
    return holder === realm.pid
      ? [`slot ${me.slot}: a rejected ${method} left the lock held`]
      : [];
  }
}

/** A pause outside the lock between operations: none half the time, else up to 2 ms. */
export function pause(): Promise<void> | undefined {
  return chance(0.5) ? undefined : sleep(between(0, 2));
}
