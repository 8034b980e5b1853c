/**
 * A local lock seen from outside, without taking it: whether anyone holds
 * the OS lock, whom the header names, and its counters — what `info()`,
 * `isLocked()` and a timeout's error report. Nothing here is on the
 * acquire path.
 *
 * @module
 */

import type { Platform } from "../../ffi/platform.ts";
import { LockTimeoutError } from "../../errors.ts";
import type { Header } from "./header.ts";
import type { SharedFiles } from "./shared_files.ts";
import type { SharedHolds } from "./shared_holds.ts";

/**
 * How long `state()` keeps looking when the OS lock is held but no holder
 * is named: a memshare holder writes its pid right after its `flock`
 * returns, but may be descheduled in between (seen: a few in 500 looks with
 * a busy CPU at 10 ms; 1 in 700 under qemu at 10 ms). A client that does
 * not use the header (flock(1), Python) stays unnamed, at this cost per
 * `info()`.
 */
const NAMING_MS = 50;
/** The first pause between such looks (doubling up to 2 ms): lets a descheduled holder run. */
const LOOK_PAUSE_MS = 0.25;
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * What the header says about the lock, for `info()`.
 *
 * @example
 * ```ts ignore
 * const state: LocalState = engine.state(false);
 * if (state.locked) console.log(state.holderPid ?? "a non-memshare client");
 * ```
 */
export interface LocalState {
  /** Whether another process (or client of the lock file) holds the lock. */
  readonly locked: boolean;
  /** The tag in the header, if the data file exists. */
  readonly tag: string | undefined;
  /** The holder's pid when a live memshare process holds it. */
  readonly holderPid: number | null;
  /** Since when it holds it. */
  readonly holderSince: Date | null;
  /** Acquisitions by memshare processes. */
  readonly acquisitions: number;
  /** Holders that found the previous one dead. */
  readonly recoveries: number;
  /** Live memshare processes holding the lock shared (this one included). */
  readonly readerPids: number[];
}

/**
 * Reads one local lock's state for its engine.
 *
 * @example
 * ```ts ignore
 * const reader = new LocalStateReader(files, platform, shared, pid);
 * if (reader.isLocked()) console.log(reader.state(false).holderPid);
 * ```
 */
export class LocalStateReader {
  readonly #files: SharedFiles;
  readonly #platform: Platform;
  readonly #shared: SharedHolds;
  readonly #pid: number;

  /** The reader of the lock behind `files`; `shared` is this realm's shared holds of it. */
  constructor(
    files: SharedFiles,
    platform: Platform,
    shared: SharedHolds,
    pid: number,
  ) {
    this.#files = files;
    this.#platform = platform;
    this.#shared = shared;
    this.#pid = pid;
  }

  /**
   * Whether anyone holds the OS lock now: another memshare process, or
   * another client of the lock file (flock(1), Python filelock). Probes
   * with a shared lock for an instant. (This realm's own hold is the
   * front's to know.)
   */
  isLocked(): boolean {
    // Our shared hold keeps writers out, and probing through our own handle
    // would convert (and then drop) it.
    if (this.#shared.count > 0) return false;
    const files = this.#files;
    if (!files.openLock(false)) return false;
    if (!this.#platform.tryLock(files.lockHandle, true)) return true;
    this.#platform.unlock(files.lockHandle);
    return false;
  }

  /** The header's view of the lock; `held` says this realm holds it. */
  state(held: boolean): LocalState {
    // The OS lock first, the header after, until they agree: a memshare
    // holder names itself a moment after its flock returns, and may be gone
    // again by our next look. Only a client that does not use the header
    // (flock(1), Python) stays "locked, nobody named".
    let locked = false;
    let header: Header | null = null;
    let holder = 0;
    const start = performance.now();
    let pauseMs = LOOK_PAUSE_MS;
    for (;;) {
      locked = held || this.isLocked();
      header = this.#files.readHeader();
      holder = locked ? this.#liveHolder(header?.holder ?? 0) : 0;
      if (!locked || holder !== 0 || performance.now() - start > NAMING_MS) {
        break;
      }
      Atomics.wait(pause, 0, 0, pauseMs);
      pauseMs = Math.min(pauseMs * 2, 2);
    }
    return {
      locked,
      tag: header?.tag || undefined,
      holderPid: holder === 0 ? null : holder,
      holderSince: holder === 0 ? null : new Date(header!.since),
      acquisitions: header?.acquisitions ?? 0,
      recoveries: header?.recoveries ?? 0,
      readerPids: header === null ? [] : this.#shared.readerPids(header),
    };
  }

  /** `LockTimeoutError` for `target`, naming the live holder, as the header tells. */
  timeoutError(target: string, timeout: number): LockTimeoutError {
    let header: Header | null = null;
    try {
      header = this.#files.readHeader();
    } catch {
      // The error is about the timeout; a header we cannot read only loses the holder's name.
    }
    const holder = this.#liveHolder(header?.holder ?? 0);
    return new LockTimeoutError(
      target,
      timeout,
      holder === 0 ? null : holder,
      holder === 0 ? null : new Date(header!.since),
      header?.tag,
    );
  }

  /**
   * The header's holder if that process lives: a dead one's pid stays in the
   * header until the next memshare holder recovers, while a non-memshare
   * client (flock(1), Python) may hold the lock meanwhile.
   */
  #liveHolder(pid: number): number {
    return pid !== 0 && (pid === this.#pid || this.#platform.processAlive(pid))
      ? pid
      : 0;
  }
}
