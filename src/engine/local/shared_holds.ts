/**
 * Shared holds (readers) of a local lock: a shared `flock` (`LockFileEx`
 * without the exclusive flag on Windows) on the lock file, which coexists
 * with other memshare readers and `flock -s`, and keeps exclusive holders —
 * memshare writers, Python's `FileLock`, `flock -x` — out.
 *
 * The realm's readers share one OS hold: the first takes it, the last lets
 * it go. Each reading process names itself in a header slot (for `info()`).
 * Writers are not starved: an exclusive acquirer that has to wait writes its
 * pid into the header's waiting-writer word, and new readers of other
 * processes wait while that process lives. A reader killed while holding
 * frees its share with its process (the kernel drops the flock); its slot is
 * reused once its pid is found dead.
 *
 * @module
 */

import type { FileId, Platform } from "../../ffi/platform.ts";
import { type Header, READER_SLOTS } from "./header.ts";
import type { SharedFiles } from "./shared_files.ts";

/** How often a first reader checks that the lock file at the path is still ours (as the exclusive claim does). */
const VERIFY_INTERVAL_MS = 100;
/** The header's lock-file id before any exclusive holder recorded one. */
const NO_LOCK_ID: FileId = [0, 0, 0, 0];

/**
 * This realm's shared holds of one lock.
 *
 * @example
 * ```ts ignore
 * const holds = new SharedHolds(files, platform, pid);
 * if (holds.tryClaim() !== null) holds.release();
 * ```
 */
export class SharedHolds {
  readonly #files: SharedFiles;
  readonly #platform: Platform;
  readonly #pid: number;
  #count = 0;
  #slot = -1;
  /** Whether the realm's current OS hold found a dead writer's mark (torn bytes possible). */
  #recovered = false;
  /** Whether the waiting-writer word holds our pid. */
  #markedWriter = false;
  /** Where the slot walk starts: the slot this process had last. */
  #lastSlot: number;

  /** The holds of the lock behind `files`. */
  constructor(files: SharedFiles, platform: Platform, pid: number) {
    this.#files = files;
    this.#platform = platform;
    this.#pid = pid;
    this.#lastSlot = pid % READER_SLOTS;
  }

  /** How many shared holds this realm has now. */
  get count(): number {
    return this.#count;
  }

  /**
   * One attempt at a shared hold: whether the last writer died holding
   * (its bytes may be torn), or `null` when a writer holds or waits. With
   * `join`, a realm that already holds shared joins at once even when a
   * writer waits (a thread blocked behind that writer would wait on its own
   * readers for ever).
   */
  tryClaim(join = false): boolean | null {
    if (join && this.#count > 0) {
      this.#count++;
      return this.#recovered;
    }
    const files = this.#files;
    const platform = this.#platform;
    if (files.lockHandle < 0) files.openLock(true);
    const header = this.#header();
    if (header === null || this.#writerWaits(header)) return null;
    if (this.#count > 0) {
      this.#count++;
      return this.#recovered;
    }
    for (let attempt = 0; attempt < 8; attempt++) {
      if (!platform.tryLock(files.lockHandle, true)) return null;
      // A lock-file id in the header other than ours: a writer used another
      // inode, so look at the path now. None recorded (only readers so far)
      // is no such sign: the interval applies — a stat() on every acquire
      // cost a reader-only lock about 3× its throughput.
      const verify = attempt > 0 ||
        platform.now() - files.verifiedAt >= VERIFY_INTERVAL_MS ||
        !(header.lockIdIs(files.lockId) || header.lockIdIs(NO_LOCK_ID));
      if (verify && !files.lockPathIsOurs()) {
        // Our handle names a lock file that was deleted or replaced.
        platform.unlock(files.lockHandle);
        files.reopenLock();
        continue;
      }
      const holder = header.holder;
      if (holder !== 0 && platform.processAlive(holder)) {
        // A writer holds the lock through another inode of a replaced lock file.
        platform.unlock(files.lockHandle);
        return null;
      }
      this.#recovered = holder !== 0;
      this.#count = 1;
      this.#slot = this.#takeSlot(header);
      return this.#recovered;
    }
    return null;
  }

  /** Ends one shared hold; returns whether it was the realm's last (the OS hold is gone). */
  release(): boolean {
    if (--this.#count > 0) return false;
    const header = this.#files.header!;
    if (this.#slot >= 0) header.swapReader(this.#slot, this.#pid, 0);
    this.#slot = -1;
    this.#platform.unlock(this.#files.lockHandle);
    return true;
  }

  /** An exclusive acquire of this process has to wait: new readers elsewhere wait behind it. */
  markWriterWaiting(): void {
    if (this.#markedWriter) return;
    const header = this.#files.header;
    if (header === null) return;
    const current = header.writerWaiting;
    if (current === this.#pid) {
      this.#markedWriter = true;
      return;
    }
    // Another live process's writer already holds the mark: readers wait anyway.
    if (current !== 0 && this.#platform.processAlive(current)) return;
    this.#markedWriter =
      header.swapWriterWaiting(current, this.#pid) === current;
  }

  /** This process's exclusive acquire no longer waits (it took the lock, or gave up). */
  clearWriterWaiting(): void {
    if (!this.#markedWriter) return;
    this.#markedWriter = false;
    this.#files.header?.swapWriterWaiting(this.#pid, 0);
  }

  /** The pids of live memshare processes holding the lock shared. */
  readerPids(header: Header): number[] {
    const pids: number[] = [];
    for (let slot = 0; slot < READER_SLOTS; slot++) {
      const pid = header.reader(slot);
      if (
        pid !== 0 &&
        (pid === this.#pid ? this.#count > 0 : this.#platform.processAlive(pid))
      ) {
        pids.push(pid);
      }
    }
    return pids;
  }

  /**
   * The live header; a data file that does not exist or is short is first
   * made under the exclusive lock (`null` if that is busy now).
   */
  #header(): Header | null {
    const files = this.#files;
    const header = files.header ?? files.mapIfReady();
    if (header !== null) return header;
    if (!this.#platform.tryLock(files.lockHandle)) return null;
    try {
      return files.mapData();
    } finally {
      this.#platform.unlock(files.lockHandle);
    }
  }

  #writerWaits(header: Header): boolean {
    const writer = header.writerWaiting;
    return writer !== 0 && writer !== this.#pid &&
      this.#platform.processAlive(writer);
  }

  /**
   * A free slot, or one a dead reader left; -1 when all name live readers.
   * The walk starts at this process's last slot (or one its pid picks):
   * reader processes then write each their own word instead of all trying
   * slot 0, 1, … in turn — every failed compare-and-swap takes the cache
   * line from the other readers.
   */
  #takeSlot(header: Header): number {
    const first = this.#lastSlot;
    for (let i = 0; i < READER_SLOTS; i++) {
      const slot = (first + i) % READER_SLOTS;
      if (header.reader(slot) !== 0) continue;
      if (header.swapReader(slot, 0, this.#pid) === 0) {
        return this.#lastSlot = slot;
      }
    }
    for (let slot = 0; slot < READER_SLOTS; slot++) {
      const pid = header.reader(slot);
      if (
        pid !== this.#pid && !this.#platform.processAlive(pid) &&
        header.swapReader(slot, pid, this.#pid) === pid
      ) {
        return this.#lastSlot = slot;
      }
    }
    return -1;
  }
}
