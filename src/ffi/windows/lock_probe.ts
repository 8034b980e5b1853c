/**
 * One wait for a Windows lock file's OS lock: a second handle of the lock
 * file, opened `FILE_FLAG_OVERLAPPED`, asks for byte 0 without
 * `LOCKFILE_FAIL_IMMEDIATELY`. The request pends while anyone — memshare,
 * Python's filelock, any `LockFileEx` client — holds the lock, and
 * completes, setting the probe's event, as soon as nobody does. The probe
 * then lets go at once: it only wanted to know; the lock layer takes the
 * lock through its own handle.
 *
 * The request is for a shared lock, not an exclusive one. An exclusive
 * probe's unlock would grant the next waiting process's exclusive probe,
 * whose unlock grants ours again: with two processes waiting, some probe
 * would always hold the lock and neither one's try-lock would ever succeed.
 * Shared probes are all granted together by the release, and each lets go.
 *
 * The file handle lives for one wait (`arm` to `settle`), so no lock file or
 * directory is kept open between waits and a replaced lock file is the one
 * waited on next time. The OVERLAPPED lives outside the JavaScript heap (an
 * `ArrayBuffer` of its own never moves) and stays referenced by the probe,
 * which the caller keeps while a request may still write it.
 *
 * @module
 */

import type { Kernel32 } from "./kernel32.ts";
import {
  ERROR,
  FILE_FLAG_OPEN_REPARSE_POINT,
  FILE_FLAG_OVERLAPPED,
  FILE_SHARE_ALL,
  GENERIC_READ,
  OPEN_EXISTING,
  OVERLAPPED,
  STATUS_PENDING,
  STATUS_SUCCESS,
} from "./constants.ts";

/** The kernel32 calls a probe makes. */
export type ProbeKernel = Pick<
  Kernel32,
  | "CreateFileW"
  | "CloseHandle"
  | "GetLastError"
  | "LockFileEx"
  | "UnlockFileEx"
  | "CancelIoEx"
  | "GetOverlappedResult"
  | "ResetEvent"
>;

/**
 * What `arm` found: `pending` (the event is set once the lock is free),
 * `free` (nobody held it: granted at once, and let go), `untracked` (the
 * system said pending but keeps no request that could complete: Wine), or
 * `failed` (the file did not open or lock: nothing to wait on).
 */
export type ProbeStart = "pending" | "free" | "untracked" | "failed";

/** `LockFileEx` flags for a shared lock that waits (neither EXCLUSIVE nor FAIL_IMMEDIATELY). */
const SHARED_WAIT = 0;
/**
 * Written to `OVERLAPPED.Internal` before each request. The system replaces
 * it with STATUS_PENDING when it takes the request (documented for
 * OVERLAPPED); still there after ERROR_IO_PENDING, nothing tracks it.
 * No NTSTATUS has this value.
 */
const UNTOUCHED = 0xffff_ffff;

/** A reusable wait for one lock file's OS lock at a time. */
export class LockProbe {
  /** The manual-reset event the request sets when it completes. */
  readonly event: number;
  readonly #k: ProbeKernel;
  readonly #overlapped: Uint8Array;
  readonly #view: DataView;
  readonly #unlockOverlapped = new Uint8Array(
    new ArrayBuffer(OVERLAPPED.size),
  );
  readonly #count = new Uint8Array(4);
  #file = -1;
  #pending = false;
  #reusable = true;

  /** A probe signalling `event`; `overlapped` must not be on the JS heap (an `ArrayBuffer` of its own). */
  constructor(k: ProbeKernel, event: number, overlapped: Uint8Array) {
    this.#k = k;
    this.event = event;
    this.#overlapped = overlapped;
    this.#view = new DataView(
      overlapped.buffer,
      overlapped.byteOffset,
      OVERLAPPED.size,
    );
  }

  /** Whether a request is in flight (between a `pending` arm and its settle). */
  get pending(): boolean {
    return this.#pending;
  }

  /** Whether the request in flight has completed (HasOverlappedIoCompleted); reads memory only. */
  get completed(): boolean {
    return this.#pending && this.#status() !== STATUS_PENDING;
  }

  /** False once a request may still write the OVERLAPPED after `settle`: then use a new probe. */
  get reusable(): boolean {
    return this.#reusable;
  }

  /** Opens `path` (NUL-terminated UTF-16) and asks for its lock. */
  arm(path: Uint8Array): ProbeStart {
    const k = this.#k;
    const file = k.CreateFileW(
      path,
      GENERIC_READ,
      FILE_SHARE_ALL,
      null,
      OPEN_EXISTING,
      FILE_FLAG_OVERLAPPED | FILE_FLAG_OPEN_REPARSE_POINT,
      0,
    );
    if (file === -1) return "failed";
    this.#file = file;
    // The event must not carry a completion of an earlier request.
    k.ResetEvent(this.event);
    this.#overlapped.fill(0);
    this.#view.setUint32(OVERLAPPED.internal, UNTOUCHED, true);
    this.#view.setBigUint64(OVERLAPPED.hEvent, BigInt(this.event), true);
    if (k.LockFileEx(file, SHARED_WAIT, 0, 1, 0, this.#overlapped) !== 0) {
      this.#letGo();
      return "free";
    }
    const error = k.GetLastError();
    if (error !== ERROR.IO_PENDING) {
      this.#close();
      return "failed";
    }
    if (this.#status() === UNTOUCHED) {
      // Wine: "Async I/O lock wait not implemented" — it never completes.
      // Should a request exist after all, closing ends it and it may still
      // write the OVERLAPPED: never reuse that.
      this.#reusable = false;
      this.#close();
      return "untracked";
    }
    this.#pending = true;
    return "pending";
  }

  /**
   * Ends the request in flight and lets go of any lock it was granted;
   * returns whether it was granted (the lock was free at some point).
   * Blocks only for a cancellation to finish.
   */
  settle(): boolean {
    if (!this.#pending) return false;
    this.#pending = false;
    const k = this.#k;
    let granted: boolean;
    if (this.#status() !== STATUS_PENDING) {
      granted = this.#status() === STATUS_SUCCESS;
    } else if (
      k.CancelIoEx(this.#file, this.#overlapped) !== 0 ||
      k.GetLastError() === ERROR.NOT_FOUND
    ) {
      // Cancelled, or completed just before the cancel (NOT_FOUND):
      // either way it ends now, and the result says whether it was granted.
      granted =
        k.GetOverlappedResult(this.#file, this.#overlapped, this.#count, 1) !==
          0;
    } else {
      // It cannot be cancelled: closing the handle ends it and drops any
      // lock it got, but it may complete into the OVERLAPPED later.
      this.#reusable = false;
      this.#close();
      return false;
    }
    if (granted) this.#letGo();
    else this.#close();
    return granted;
  }

  /** The request's NTSTATUS (the low half of `Internal`). */
  #status(): number {
    return this.#view.getUint32(OVERLAPPED.internal, true);
  }

  /** Unlocks what the probe was granted, and closes (which would drop it anyway). */
  #letGo(): void {
    const k = this.#k;
    if (
      k.UnlockFileEx(this.#file, 0, 1, 0, this.#unlockOverlapped) === 0 &&
      k.GetLastError() === ERROR.IO_PENDING
    ) {
      k.GetOverlappedResult(this.#file, this.#unlockOverlapped, this.#count, 1);
    }
    this.#close();
  }

  #close(): void {
    this.#k.CloseHandle(this.#file);
    this.#file = -1;
  }
}
