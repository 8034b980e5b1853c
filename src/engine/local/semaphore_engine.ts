/**
 * The semaphore engine: N slots on one machine, each an ordinary local lock
 * (`NAME.slot<k>` + `.lock`, header + that slot's own bytes), composed.
 *
 * Why N locks rather than one counter: each slot is then held through its
 * own `flock`, so a holder killed frees exactly its slot through the kernel
 * (no count to repair, no lease), `recovered` is per slot, a slot's bytes
 * pass from holder to holder of that slot under its lock, and every wake-up,
 * file check and interop property of the lock comes with it.
 *
 * `NAME` itself is a small lock whose region records the slot count (and a
 * counter for fencing tokens): the first opener writes it under that lock,
 * every later opener compares, so a process asking for another count gets
 * an error naming both instead of a semaphore with two sizes.
 *
 * A realm may hold several slots at once (one per task); a slot this realm
 * holds is never claimed or waited for again until released — its lock
 * file is locked through our own handle, and locking it again would succeed.
 *
 * @module
 */

import type { Platform } from "../../ffi/platform.ts";
import { LockFileError, LockTimeoutError } from "../../errors.ts";
import type { Claim, WaitCallbacks } from "../engine.ts";
import type { SlotClaim, SlotEngine } from "../slot_engine.ts";
import { LocalEngine } from "./local_engine.ts";
import type { LocalState } from "./local_state.ts";
import type { ResolvedPaths } from "./paths.ts";
import {
  META_LENGTH,
  META_MAGIC,
  META_SLOTS_AT,
  META_TOKENS_AT,
} from "./semaphore_meta.ts";

/** The most slots a semaphore may have. */
export const MAX_SLOTS = 1024;

/** How long opening waits for the meta lock (held only for a moment by openers). */
const META_WAIT_MS = 10_000;
/**
 * `acquireSync` with several slots to wait for sleeps on one slot's wake
 * word at a time (the platform has no synchronous wait on several words),
 * this long before it tries every slot again and turns to the next one.
 */
const SYNC_SLICE_MS = 2;

/** One slot's claim; one object per slot, rewritten per claim. */
interface MutableSlotClaim extends SlotClaim {
  recovered: boolean;
  token: number;
}

/** The data and lock paths of slot `k`. */
export function slotPaths(paths: ResolvedPaths, slot: number): ResolvedPaths {
  const path = `${paths.path}.slot${slot}`;
  return {
    path,
    lockPath: `${path}.lock`,
    dir: paths.dir,
    defaultDir: paths.defaultDir,
  };
}

/**
 * N local locks behind one `SlotEngine`.
 *
 * @example
 * ```ts ignore
 * const engine = new SemaphoreEngine(platform, paths, 3, 256, 0o600, "profiles");
 * const claim = engine.tryClaim();
 * if (claim !== null) engine.release(claim);
 * ```
 */
export class SemaphoreEngine implements SlotEngine<SlotClaim> {
  /** The meta file's path (`NAME`). */
  readonly target: string;
  /** How many slots. */
  readonly slots: number;
  readonly #platform: Platform;
  readonly #paths: ResolvedPaths;
  readonly #mode: number;
  readonly #tagName: string;
  readonly #engines: LocalEngine[] = [];
  readonly #claims: MutableSlotClaim[] = [];
  readonly #slotCallbacks: WaitCallbacks<Claim>[] = [];
  /** Slots this realm holds. */
  readonly #held: boolean[];
  /** Slots with an async wait in flight in their engine. */
  readonly #waiting: boolean[];
  #heldCount = 0;
  /** Where the next attempt starts: spreads processes over the slots. */
  #next: number;
  #meta: LocalEngine | null = null;
  #tokens: BigInt64Array | null = null;
  #callbacks: WaitCallbacks<SlotClaim> | null = null;

  /** Describes the semaphore's files; opens nothing. */
  constructor(
    platform: Platform,
    paths: ResolvedPaths,
    slots: number,
    length: number,
    mode: number,
    tagName: string,
  ) {
    this.target = paths.path;
    this.slots = slots;
    this.#platform = platform;
    this.#paths = paths;
    this.#mode = mode;
    this.#tagName = tagName;
    this.#held = new Array(slots).fill(false);
    this.#waiting = new Array(slots).fill(false);
    this.#next = platform.pid() % slots;
    for (let k = 0; k < slots; k++) {
      this.#engines.push(
        new LocalEngine(platform, slotPaths(paths, k), length, mode, tagName),
      );
      this.#claims.push({ slot: k, recovered: false, token: 0 });
      this.#slotCallbacks.push({
        granted: (claim) => this.#slotGranted(k, claim),
        failed: (error) => this.#slotFailed(k, error),
      });
    }
  }

  /** One attempt at each slot this realm does not hold, from a rotating start. */
  tryClaim(): SlotClaim | null {
    this.#open();
    const n = this.slots;
    const start = this.#next;
    for (let i = 0; i < n; i++) {
      const k = (start + i) % n;
      if (this.#held[k]) continue;
      const claim = this.#engines[k].tryClaim();
      if (claim !== null) return this.#claimed(k, claim);
    }
    return null;
  }

  /**
   * Blocks until a slot is taken or `timeout` ms pass. With one slot left
   * to wait for, that slot's own `claimSync` (the kernel's `flock` without
   * a deadline); with several, short sleeps on each slot's wake word in
   * turn, every slot tried between them.
   */
  claimSync(timeout: number): SlotClaim | null {
    const first = this.tryClaim();
    if (first !== null || this.#heldCount === this.slots) return first;
    const free: number[] = [];
    for (let k = 0; k < this.slots; k++) if (!this.#held[k]) free.push(k);
    if (free.length === 1) {
      const claim = this.#engines[free[0]].claimSync(timeout);
      return claim === null ? null : this.#claimed(free[0], claim);
    }
    const start = performance.now();
    for (let turn = free.indexOf(this.#next) + 1;; turn++) {
      const left = timeout - (performance.now() - start);
      if (left <= 0) return null;
      const k = free[turn % free.length];
      const claim = this.#engines[k].claimSync(Math.min(SYNC_SLICE_MS, left));
      if (claim !== null) return this.#claimed(k, claim);
      const any = this.tryClaim();
      if (any !== null) return any;
    }
  }

  /**
   * Tries every slot now; if all are busy, waits on every slot this realm
   * does not hold at once (each joins the realm's one sleeper) and takes
   * the first grant, leaving the other waits.
   */
  wait(callbacks: WaitCallbacks<SlotClaim>): void {
    if (this.#callbacks !== null) return;
    let claim: SlotClaim | null;
    try {
      claim = this.tryClaim();
    } catch (error) {
      callbacks.failed(error);
      return;
    }
    if (claim !== null) {
      callbacks.granted(claim);
      return;
    }
    // With every slot held here, a release of ours starts the slot's wait.
    this.#callbacks = callbacks;
    for (let k = 0; k < this.slots && this.#callbacks !== null; k++) {
      this.#waitFor(k);
    }
  }

  /** Leaves every slot's wait. */
  stopWaiting(): void {
    this.#callbacks = null;
    this.#stopSlots();
  }

  /** Releases the claim's slot; a wait in flight then waits for that slot too. */
  release(claim: SlotClaim): void {
    const k = claim.slot;
    if (!this.#held[k]) return;
    this.#held[k] = false;
    this.#heldCount--;
    this.#engines[k].release(claim);
    this.#next = k;
    if (this.#callbacks !== null) {
      // Not from inside the release: the grant would reach the front mid-release.
      queueMicrotask(() => {
        if (this.#callbacks !== null && !this.#held[k]) this.#waitFor(k);
      });
    }
  }

  /** The zero-copy buffer over `slot`'s user region. */
  region(slot: number): ArrayBuffer {
    return this.#engines[slot].region();
  }

  /** Detaches every view of `slot`'s region buffer handed out so far. */
  retireRegion(slot: number): void {
    this.#engines[slot].retireRegion();
  }

  /** `LockTimeoutError` whose message names each slot's live holder. */
  timeoutError(timeout: number): LockTimeoutError {
    const holders: string[] = [];
    for (let k = 0; k < this.slots; k++) {
      if (this.#held[k]) {
        holders.push(`slot ${k}: this process`);
        continue;
      }
      let pid: number | null = null;
      try {
        pid = this.#engines[k].timeoutError(timeout).holderPid;
      } catch {
        // Only the holder's name is lost.
      }
      holders.push(`slot ${k}: ${pid === null ? "?" : `pid ${pid}`}`);
      if (holders.length === 8 && this.slots > 9) {
        holders.push(`… ${this.slots - 9} more`);
        break;
      }
    }
    const error = new LockTimeoutError(this.target, timeout);
    const what = `all ${this.slots} slots of semaphore ${this.target} busy (${
      holders.join(", ")
    })`;
    error.message = timeout === 0
      ? what
      : `timed out after ${timeout} ms waiting for a slot: ${what}`;
    return error;
  }

  /** Slot `k`'s state, read from its header (`held`: this realm holds it). */
  slotState(k: number): LocalState {
    return this.#engines[k].state(this.#held[k]);
  }

  /** Whether this realm holds slot `k`. */
  holds(k: number): boolean {
    return this.#held[k];
  }

  /** Closes every slot's files and the meta file. */
  close(): void {
    this.stopWaiting();
    let failure: unknown = null;
    for (const engine of this.#engines) {
      try {
        engine.close();
      } catch (error) {
        failure ??= error;
      }
    }
    this.#closeMeta();
    if (failure !== null) throw failure;
  }

  #claimed(k: number, local: Claim): SlotClaim {
    if (this.#waiting[k]) {
      // Taken by a synchronous call while an async wait includes it.
      this.#waiting[k] = false;
      this.#engines[k].stopWaiting();
    }
    this.#held[k] = true;
    this.#heldCount++;
    const claim = this.#claims[k];
    claim.recovered = local.recovered;
    claim.token = Number(Atomics.add(this.#tokens!, 0, 1n)) + 1;
    return claim;
  }

  #waitFor(k: number): void {
    if (this.#held[k] || this.#waiting[k]) return;
    this.#waiting[k] = true;
    this.#engines[k].wait(this.#slotCallbacks[k]);
  }

  #slotGranted(k: number, local: Claim): void {
    this.#waiting[k] = false;
    const callbacks = this.#callbacks;
    if (callbacks === null) {
      // Raced a grant of another slot, or the end of the wait: not ours to keep.
      this.#engines[k].release(local);
      return;
    }
    this.#callbacks = null;
    this.#stopSlots();
    let claim: SlotClaim;
    try {
      claim = this.#claimed(k, local);
    } catch (error) {
      this.#engines[k].release(local);
      callbacks.failed(error);
      return;
    }
    callbacks.granted(claim);
  }

  #slotFailed(k: number, error: unknown): void {
    this.#waiting[k] = false;
    const callbacks = this.#callbacks;
    if (callbacks === null) return;
    this.#callbacks = null;
    this.#stopSlots();
    callbacks.failed(error);
  }

  #stopSlots(): void {
    for (let k = 0; k < this.slots; k++) {
      if (this.#waiting[k]) {
        this.#waiting[k] = false;
        this.#engines[k].stopWaiting();
      }
    }
  }

  /**
   * First use: under the meta lock, records the slot count (first opener)
   * or checks it (everyone else), and maps the token counter.
   */
  #open(): void {
    if (this.#tokens !== null) return;
    const meta = this.#meta ??= new LocalEngine(
      this.#platform,
      this.#paths,
      META_LENGTH,
      this.#mode,
      this.#tagName,
    );
    try {
      const claim = meta.claimSync(META_WAIT_MS);
      if (claim === null) {
        throw new LockFileError(
          this.target,
          "EBUSY",
          `the semaphore's slot count could not be checked: its lock ${this.#paths.lockPath} was held for ${
            META_WAIT_MS / 1000
          } s (memshare holds it only for a moment; is another program locking it?)`,
        );
      }
      try {
        const region = meta.region();
        const view = new DataView(region);
        const magic = view.getUint32(0, true);
        const slots = view.getUint32(META_SLOTS_AT, true);
        if (magic === 0 && slots === 0) {
          view.setUint32(META_SLOTS_AT, this.slots, true);
          view.setUint32(0, META_MAGIC, true);
        } else if (magic !== META_MAGIC) {
          throw new LockFileError(
            this.target,
            "EFOREIGN",
            "is not a MemoryShareSemaphore's file (a MemoryShareLock of the same name?); use another name",
          );
        } else if (slots !== this.slots) {
          throw new RangeError(
            `MemoryShareSemaphore ${this.target} was created with ${slots} slots; this one asks for ${this.slots}. The count is fixed when the files are created: use slots: ${slots}, or another name`,
          );
        }
        this.#tokens = new BigInt64Array(region, META_TOKENS_AT, 1);
      } finally {
        meta.release(claim);
      }
    } catch (error) {
      this.#closeMeta();
      throw error;
    }
  }

  #closeMeta(): void {
    const meta = this.#meta;
    this.#meta = null;
    this.#tokens = null;
    meta?.close(); // detaches the token view before unmapping
  }
}
