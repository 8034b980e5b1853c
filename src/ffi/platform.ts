/**
 * The platform interface: everything `src/lock` needs from the OS, and the
 * only way it reaches the OS (the CLI uses it too). `posix.ts` (libc) and
 * `windows.ts` (kernel32) implement it.
 *
 * @module
 */

import type { Architecture, OperatingSystem } from "./runtime/runtime.ts";

/** A native file handle: a POSIX fd, or a Windows HANDLE value. */
export type Handle = number;

/**
 * Identity of a file, the same for two opens of one file: device and inode
 * (Windows: volume serial and file index) as four 32-bit words, so it can be
 * kept in the shared header and compared without allocating.
 */
export type FileId = readonly [number, number, number, number];

/** What kind of file a path or handle refers to. */
export type FileKind = "file" | "directory" | "symlink" | "other";

/** Metadata of a file, path or handle. */
export interface FileStatus {
  /** Device and inode. */
  readonly id: FileId;
  /** File type. */
  readonly kind: FileKind;
  /** Permission bits (`0o777` mask; sticky bit `0o1000` kept). */
  readonly mode: number;
  /** Number of hard links. */
  readonly links: number;
  /** Owner uid (-1 where there is none, e.g. Windows). */
  readonly uid: number;
  /** Size in bytes. */
  readonly size: number;
}

/** A shared memory mapping of a file. */
export interface Mapping {
  /** Length of the mapping in bytes. */
  readonly length: number;
  /** A zero-copy `ArrayBuffer` over `length` bytes at `offset`. */
  buffer(offset: number, length: number): ArrayBuffer;
}

/**
 * What a waiter for one lock sleeps on: the header's wake word while it
 * holds `expected` (futex platforms), or the lock file itself (Windows,
 * which waits for the OS lock through a handle of its own).
 */
export interface LockWait {
  /** The lock file's path. */
  readonly lockPath: string;
  /** The mapping the wake word is in; `null` before the data file is mapped. */
  readonly mapping: Mapping | null;
  /** Its byte offset (4-byte aligned). */
  readonly offset: number;
  /** Sleep only while the word holds this value. */
  readonly expected: number;
}

/** Path functions of the platform (node:path's posix or win32 flavour). */
export interface PathFunctions {
  /** Joins segments with the platform separator and normalizes. */
  join(...segments: string[]): string;
  /** Whether `path` is absolute. */
  isAbsolute(path: string): boolean;
  /** Resolves `segments` against the current directory. */
  resolve(...segments: string[]): string;
  /** The parent directory of `path`. */
  dirname(path: string): string;
  /** The last segment of `path`. */
  basename(path: string): string;
  /** The separator, `/` or `\`. */
  readonly sep: string;
}

/** A failed system call, with the errno (or Windows error) name. */
export class OsError extends Error {
  /** Error name, for `error.name` checks. */
  override readonly name = "OsError";
  /** The symbolic error code, e.g. `ELOOP`, `EACCES`, `ERROR_SHARING_VIOLATION`. */
  readonly code: string;
  /** The numeric errno / Windows error. */
  readonly errno: number;
  /** The call that failed, e.g. `open`. */
  readonly syscall: string;
  /** The path the call was about, when there was one. */
  readonly path?: string;

  /** Builds the error; `detail` is the OS's own text for `errno`. */
  constructor(
    syscall: string,
    errno: number,
    code: string,
    detail: string,
    path?: string,
  ) {
    super(
      `${syscall}${path === undefined ? "" : ` ${path}`}: ${code} (${detail})`,
    );
    this.syscall = syscall;
    this.errno = errno;
    this.code = code;
    this.path = path;
  }
}

/** Everything the lock needs from the operating system. */
export interface Platform {
  /** The operating system. */
  readonly os: OperatingSystem;
  /** The CPU architecture. */
  readonly arch: Architecture;
  /** Which constant table is in use, e.g. `linux-aarch64`. */
  readonly table: string;
  /** Path functions for this OS. */
  readonly path: PathFunctions;
  /** This process's id. */
  pid(): number;
  /**
   * The wall-clock time in ms since the epoch, as cheaply as the OS allows:
   * it may lag `Date.now()` by a clock tick (up to ~10 ms).
   */
  now(): number;
  /** This process's user id (-1 where there is none). */
  uid(): number;
  /** The current directory. */
  cwd(): string;
  /** An environment variable, read through the OS (no runtime permission needed). */
  env(name: string): string | undefined;
  /**
   * The default lock directory: `$XDG_RUNTIME_DIR/memshare`, else
   * `/tmp/memshare-<uid>` (Linux); `$TMPDIR/memshare` (macOS);
   * `%TEMP%\memshare` (Windows). Computed, not created.
   */
  defaultDirectory(): string;
  /** Metadata of `path` itself (a symlink is not followed); `null` if it does not exist. */
  statPath(path: string): FileStatus | null;
  /** Metadata of an open handle. */
  statHandle(handle: Handle): FileStatus;
  /** Creates a directory with exactly `mode`; `false` if something already exists there. */
  makeDirectory(path: string, mode: number): boolean;
  /**
   * Opens a regular file for reading and writing, never following a symlink
   * at `path`, close-on-exec. When missing and `create` is set, creates it
   * atomically with exactly `mode` (not the umask's). Throws `OsError`
   * (`ENOENT` when missing and not `create`).
   */
  openFile(path: string, create: boolean, mode: number): Handle;
  /**
   * Opens directory `path` with a shared `flock` held on it until `close`:
   * age-based cleaners (systemd-tmpfiles) skip a directory locked so, so
   * files in use are not deleted from under their users. `null` where it
   * cannot be opened or locked right now, or where it means nothing (Windows).
   */
  holdDirectory(path: string): Handle | null;
  /**
   * Reads a whole file through the OS (only FFI permission needed, even
   * under `/proc`), to end of file whatever size it reports; `null` when it
   * does not exist. Throws `OsError` naming `path` otherwise (`EISDIR` for
   * a directory, `EACCES`, …).
   */
  readFile(path: string): Uint8Array | null;
  /** Reads up to `into.length` bytes at `offset`; returns how many were read. */
  readAt(handle: Handle, into: Uint8Array, offset: number): number;
  /** Grows the file to `size` bytes, reserving the blocks so later writes cannot fail for space. */
  extend(handle: Handle, size: number): void;
  /** One attempt at the exclusive (or shared) lock; `false` when someone else holds it. */
  tryLock(handle: Handle, shared?: boolean): boolean;
  /**
   * Blocks the thread until the exclusive lock is held, queued in the
   * kernel like any blocking `flock` client. Absent in Workers (a Worker
   * terminated while blocked would take the lock and never release it) and
   * where a blocked call could wait on the platform's own lock probes
   * (Windows).
   */
  readonly lock?: (handle: Handle) => void;
  /** Releases the lock held through `handle`. */
  unlock(handle: Handle): void;
  /** Maps the first `length` bytes of the file shared and read-write. */
  map(handle: Handle, length: number): Mapping;
  /** Unmaps; every view of the mapping must already be detached. */
  unmap(mapping: Mapping): void;
  /** Writes the mapping's dirty pages to the file (msync / FlushViewOfFile). */
  flush(mapping: Mapping): void;
  /** Closes a handle. */
  close(handle: Handle): void;
  /** Whether a process with this pid exists. */
  processAlive(pid: number): boolean;
  /** Blocks the calling thread for `ms` milliseconds. */
  sleep(ms: number): void;
  /**
   * Whether the wait functions sleep until woken (Linux futex). When false
   * they are plain timed sleeps and waiting for a lock is polling.
   */
  readonly wakeups: boolean;
  /**
   * Wakes a thread or process sleeping on the word at `offset` of `mapping`:
   * at least one (Linux: exactly one — only one can take the lock, and the
   * rest would only contend for it).
   */
  wake(mapping: Mapping, offset: number): void;
  /** Blocks the thread until `wait` is woken (or its word no longer holds `expected`), at most `ms`. */
  waitSync(wait: LockWait, ms: number): void;
  /**
   * Resolves when any of `waits` is woken, after `ms`, or on
   * `interruptWait()`, without blocking the JavaScript thread. At most one
   * call may be in flight per realm.
   */
  waitAny(waits: readonly LockWait[], ms: number): Promise<void>;
  /** Makes an in-flight `waitAny` resolve now. */
  interruptWait(): void;
}
