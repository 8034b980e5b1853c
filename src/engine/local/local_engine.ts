/**
 * The local engine: one machine's processes exclude each other through an
 * OS lock on `NAME.lock` (`flock` / `LockFileEx`) and the header of the
 * memory-mapped `NAME`, and wake each other through the header's wake word.
 *
 * @module
 */

import type { Platform } from "../../ffi/platform.ts";
import type { LockTimeoutError } from "../../errors.ts";
import type {
  AtomicEngine,
  Claim,
  ConditionEngine,
  SharedEngine,
  SyncEngine,
  WaitCallbacks,
} from "../engine.ts";
import { AtomicCopies } from "./atomic_copies.ts";
import { BUSY, claimHeader, STALE } from "./claim.ts";
import { type LocalState, LocalStateReader } from "./local_state.ts";
import type { ResolvedPaths } from "./paths.ts";
import { SharedFiles } from "./shared_files.ts";
import { SharedHolds } from "./shared_holds.ts";
import { pollDelay, SLICE_MS } from "./wait_loop.ts";
import { endTurn, markTurnWait, TurnWait, uncountWaiter } from "./turns.ts";
import { Waiting, wakeWaiters } from "./wake.ts";

// src/lock/semaphore_info.ts reads the type from here.
export type { LocalState } from "./local_state.ts";

/**
 * How often an acquire checks that the lock file at the path is still the
 * one it has open. A lock file deleted and recreated by a client that does
 * not use the header — a tmp cleaner, then Python's filelock — is noticed
 * within this long, without a system call on every acquire. (memshare
 * newcomers on a recreated file are kept out by the header at once.)
 */
const VERIFY_INTERVAL_MS = 100;

/** A claim of the local engine; one object per engine, rewritten per claim. */
interface LocalClaim extends Claim {
  recovered: boolean;
  token: number;
}

/**
 * The files, OS lock, header claim and wake-ups of one local lock.
 *
 * @example
 * ```ts ignore
 * const engine = new LocalEngine(platform, paths, 16, 0o600, "mouse");
 * const claim = engine.tryClaim();
 * if (claim !== null) engine.release(claim);
 * ```
 */
export class LocalEngine
  implements
    SyncEngine<Claim>,
    SharedEngine<Claim>,
    ConditionEngine<Claim>,
    AtomicEngine {
  /** The data file's path. */
  readonly target: string;
  readonly #platform: Platform;
  readonly #files: SharedFiles;
  readonly #pid: number;
  readonly #waiting: Waiting;
  readonly #shared: SharedHolds;
  readonly #stateReader: LocalStateReader;
  readonly #claim: LocalClaim = { recovered: false, token: 0 };
  #callbacks: WaitCallbacks<Claim> | null = null;
  /** What the wait in flight is for. */
  #sharedWait = false;
  /** Whether this realm holds the lock exclusively now. */
  #held = false;
  /** A suspend counted a condition waiter whose wait has not taken it over yet. */
  #turnCounted = false;
  /** Atomic commit's two copies (`null` without `atomic`). */
  readonly #copies: AtomicCopies | null;

  /** Describes the lock's files; opens nothing. */
  constructor(
    platform: Platform,
    paths: ResolvedPaths,
    length: number,
    mode: number,
    tagName: string,
    atomic = false,
  ) {
    this.target = paths.path;
    this.#platform = platform;
    this.#pid = platform.pid();
    this.#files = new SharedFiles(
      platform,
      paths,
      length,
      mode,
      tagName,
      atomic,
    );
    this.#copies = atomic ? new AtomicCopies(this.#files) : null;
    this.#waiting = new Waiting(this.#files, platform, () => this.#attempt());
    this.#shared = new SharedHolds(this.#files, platform, this.#pid);
    this.#stateReader = new LocalStateReader(
      this.#files,
      platform,
      this.#shared,
      this.#pid,
    );
  }

  /** One attempt at the OS lock and the header; `null` when busy. */
  tryClaim(): Claim | null {
    return this.#take(false);
  }

  /**
   * Blocks until claimed or `timeout` ms pass. With no deadline, on the
   * main thread, it queues in the kernel's own `flock` like flock(1), so
   * any release — a non-memshare client's too — hands over at once.
   */
  claimSync(timeout: number): Claim | null {
    const platform = this.#platform;
    if (timeout === Infinity && platform.lock !== undefined) {
      // Free now: taken without touching the waiting-writer word.
      const now = this.#take(false);
      if (now !== null) return now;
      // Readers of other processes wait behind a writer queued in the kernel.
      if (this.#files.header !== null) this.#shared.markWriterWaiting();
      try {
        const claimed = this.#take(true);
        // Null: a holder on another inode of a replaced lock file.
        if (claimed !== null) return claimed;
      } finally {
        this.#shared.clearWriterWaiting();
      }
    }
    return this.#claimLoop(timeout, false);
  }

  /** Blocks until a shared hold is had or `timeout` ms pass. */
  claimSharedSync(timeout: number): Claim | null {
    // Free now: taken without counting ourselves a waiter in the header —
    // the wait loop's bookkeeping (waiter count, wake flag, a futex wake for
    // the other readers) was 13–15 % of a looping reader's time.
    return this.tryClaimShared(true) ?? this.#claimLoop(timeout, true);
  }

  /** One attempt at a shared hold; `null` while a writer holds or waits (`join`: unless this realm already holds shared). */
  tryClaimShared(join = false): Claim | null {
    const recovered = this.#shared.tryClaim(join);
    if (recovered === null) return null;
    const claim = this.#claim;
    claim.recovered = recovered;
    claim.token = this.#files.header!.acquisitions;
    return claim;
  }

  /** Ends one shared hold; the realm's last wakes a waiter of another process. */
  releaseShared(_claim: Claim): void {
    if (this.#shared.release()) {
      wakeWaiters(this.#files, this.#platform, this.#waiting.counted);
    }
  }

  /** As `wait`, for a shared hold. */
  waitShared(callbacks: WaitCallbacks<Claim>): void {
    if (this.#callbacks !== null) return;
    this.#callbacks = callbacks;
    this.#sharedWait = true;
    this.#attempt();
  }

  /** Sleeps on the header's wake word between attempts until claimed or the deadline. */
  #claimLoop(timeout: number, shared: boolean): Claim | null {
    const platform = this.#platform;
    const start = performance.now();
    const waiting = new Waiting(this.#files, platform, () => {});
    try {
      for (let attempt = 0;; attempt++) {
        waiting.prepare();
        const claimed = shared ? this.tryClaimShared(true) : this.#take(false);
        if (claimed !== null) {
          waiting.stop(true);
          if (shared) wakeWaiters(this.#files, platform, false);
          return claimed;
        }
        if (!shared) this.#shared.markWriterWaiting();
        const left = timeout - (performance.now() - start);
        if (left <= 0) return null;
        const slice = platform.wakeups && waiting.word !== null
          ? SLICE_MS
          : pollDelay(attempt);
        waiting.sleep(Math.min(slice, left));
      }
    } finally {
      waiting.stop(false);
      if (!shared) this.#shared.clearWriterWaiting();
    }
  }

  /** Tries now; if busy, joins the realm's wait loop, which tries again after each wake-up. */
  wait(callbacks: WaitCallbacks<Claim>): void {
    if (this.#callbacks !== null) return;
    this.#callbacks = callbacks;
    this.#sharedWait = false;
    this.#attempt();
  }

  /** Leaves the wait loop and the header's count of waiters. */
  stopWaiting(): void {
    this.#callbacks = null;
    this.#waiting.stop(false);
    this.#shared.clearWriterWaiting();
  }

  /** End the turn (wakes condition waiters) → header free → OS unlock → wake another process's waiter. */
  release(_claim: Claim): void {
    this.#end(true, false);
  }

  /** Releases for a condition wait; `changed`: the turn may have changed the bytes. Returns the turns mark. */
  suspend(_claim: Claim, changed: boolean): number {
    return this.#end(changed, true);
  }

  /** Ends this realm's hold; with `marks`, returns the turns mark (else 0). */
  #end(changed: boolean, marks: boolean): number {
    const files = this.#files;
    const header = files.header!;
    this.#held = false;
    // Atomic: publish (one store) before anyone else can hold.
    this.#copies?.end(changed);
    // The turn ends, and the mark is read, while we still hold: a turn by
    // the next holder must come after the mark.
    if (changed) endTurn(header, files, this.#platform);
    // A condition waiter is counted before its mark is read and the lock
    // let go: the next holder's release then bumps the turns word.
    const mark = marks ? markTurnWait(header, this.#turnCounted) : 0;
    if (marks) this.#turnCounted = true;
    header.clearHolder();
    this.#platform.unlock(files.lockHandle);
    wakeWaiters(files, this.#platform, this.#waiting.counted);
    return mark;
  }

  /** Calls `woken` once a turn ends after `mark`; returns a function that stops waiting. */
  waitForTurn(mark: number, woken: () => void): () => void {
    const wait = this.#turnWait(mark);
    wait.start(woken);
    return () => wait.stop();
  }

  /** Blocks until a turn ends after `mark` or `ms` pass; whether one did. */
  waitForTurnSync(mark: number, ms: number): boolean {
    const wait = this.#turnWait(mark);
    try {
      return wait.sleepSync(ms);
    } finally {
      wait.stop();
    }
  }

  #turnWait(mark: number): TurnWait {
    const counted = this.#turnCounted;
    this.#turnCounted = false;
    return new TurnWait(
      this.#files,
      this.#platform,
      mark,
      () => this.#held || this.#shared.count > 0,
      counted,
    );
  }

  /** The zero-copy buffer over the mapped user region (atomic: the working copy, or for shared holds the published one). */
  region(): ArrayBuffer {
    const copies = this.#copies;
    if (copies === null) return this.#files.region();
    return this.#held ? copies.working() : copies.published();
  }

  /** Whether the region is kept twice and published whole at release. */
  get atomic(): boolean {
    return this.#copies !== null;
  }

  /** Atomic: the working copy holds the published bytes again. */
  discard(): void {
    this.#copies?.discard();
  }

  /** Detaches every view of the region buffer handed out so far. */
  retireRegion(): void {
    this.#files.retireRegion();
  }

  /** `LockTimeoutError` naming the live holder, as the header tells. */
  timeoutError(timeout: number): LockTimeoutError {
    return this.#stateReader.timeoutError(this.target, timeout);
  }

  /** See `LocalStateReader.isLocked`: whether anyone holds the OS lock now. */
  isLocked(): boolean {
    return this.#stateReader.isLocked();
  }

  /** The header's view of the lock; `held` says this realm holds it. */
  state(held: boolean): LocalState {
    return this.#stateReader.state(held);
  }

  /** Unmaps and closes the files. */
  close(): void {
    this.stopWaiting();
    if (this.#turnCounted && this.#files.header !== null) {
      this.#turnCounted = false;
      uncountWaiter(this.#files.header);
    }
    this.#files.close();
  }

  /** The wait loop's retry, and a wait's first try. */
  #attempt(): void {
    const callbacks = this.#callbacks;
    if (callbacks === null) {
      this.#waiting.stop(false);
      return;
    }
    const shared = this.#sharedWait;
    let claimed: Claim | null;
    try {
      this.#waiting.prepare();
      claimed = shared ? this.tryClaimShared() : this.#take(false);
    } catch (error) {
      this.stopWaiting();
      callbacks.failed(error);
      return;
    }
    if (claimed === null) {
      if (!shared) this.#shared.markWriterWaiting();
      this.#waiting.join();
      return;
    }
    this.#callbacks = null;
    this.#waiting.stop(true);
    if (shared) {
      // Other processes' readers may come in too: pass the wake-up on.
      wakeWaiters(this.#files, this.#platform, false);
    } else this.#shared.clearWriterWaiting();
    callbacks.granted(claimed);
  }

  /**
   * One attempt at the OS lock and the header, recording the claim in the
   * header; `null` when busy. With `block`, waits in the kernel for the OS
   * lock (`platform.lock`) first.
   */
  #take(block: boolean): Claim | null {
    const files = this.#files;
    const platform = this.#platform;
    if (files.lockHandle < 0) files.openLock(true);
    for (let attempt = 0;; attempt++) {
      if (block) platform.lock!(files.lockHandle);
      else if (!platform.tryLock(files.lockHandle)) return null;
      const now = platform.now();
      let result;
      try {
        result = claimHeader(
          files.mapData(),
          files,
          this.#pid,
          platform,
          attempt > 0 || now - files.verifiedAt >= VERIFY_INTERVAL_MS,
        );
      } catch (error) {
        platform.unlock(files.lockHandle);
        throw error;
      }
      if (typeof result !== "string") {
        const header = files.header!;
        header.since = now;
        const token = header.acquisitions + 1;
        header.acquisitions = token;
        const claim = this.#claim;
        claim.recovered = result.recovered;
        claim.token = token;
        this.#held = true;
        return claim;
      }
      platform.unlock(files.lockHandle);
      if (result === BUSY || attempt >= 8) return null;
      if (result === STALE) files.reopenLock();
    }
  }
}
