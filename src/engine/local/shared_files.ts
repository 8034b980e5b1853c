/**
 * The two files behind a lock — `NAME.lock` (locked, never written) and
 * `NAME` (header + shared region, mapped) — opened, checked, created,
 * extended and mapped over the platform interface.
 *
 * Nothing here is ever truncated or shrunk, and nothing follows a symlink.
 * The data file is created, extended and first mapped only while the caller
 * holds the OS lock, so two processes with different lengths cannot race.
 *
 * @module
 */

import {
  type Handle,
  type Mapping,
  OsError,
  type Platform,
} from "../../ffi/platform.ts";
import type { FileId } from "../../ffi/platform.ts";
import { LockFileError } from "../../errors.ts";
import { FLAG_ATOMIC, Header, HEADER_SIZE } from "./header.ts";
import { explain, explained } from "./lock_file_errors.ts";
import { checkData, checkRegular, statPath } from "./file_checks.ts";
import { prepareLockDirectory } from "./lock_directory.ts";
import type { ResolvedPaths } from "./paths.ts";

/**
 * The lock files open in this realm, by identity: the same file reached by
 * another path (a symlinked directory, another case on a case-insensitive
 * disk) must not get a second instance, which would wait on itself.
 */
const openLockFiles = new Map<string, SharedFiles>();

/** The open files and mapping of one lock, in one realm. */
export class SharedFiles {
  /** The lock file's path. */
  get lockPath(): string {
    return this.#paths.lockPath;
  }

  /** The lock file handle, or -1 while not open. */
  lockHandle: Handle = -1;
  /** Identity of the file `lockHandle` refers to. */
  lockId: FileId = [0, 0, 0, 0];
  /** When (ms since the epoch) the lock file was last found at its path. */
  verifiedAt = 0;
  /** The live header in the mapping, once mapped. */
  header: Header | null = null;
  /** The mapping of header + region, once mapped. */
  mapping: Mapping | null = null;
  #dataHandle: Handle = -1;
  /** The lock directory, held with a shared flock so age-based cleaners skip it. */
  #directoryHold: Handle | null = null;
  #region: ArrayBuffer | null = null;
  /** Atomic commit: the guard-facing buffers of copy 0 and 1, and the engine's own views of them. */
  readonly #copies: (ArrayBuffer | null)[] = [null, null];
  /** Which copy's buffer was handed out since the last `retireRegion` (only it can have views). */
  readonly #lent: boolean[] = [false, false];
  readonly #copyBytes: (Uint8Array | null)[] = [null, null];
  /** Whether our length and tag were recorded in the header (under the lock). */
  #adopted = false;
  #directoryChecked = false;
  readonly #platform: Platform;
  readonly #paths: ResolvedPaths;
  readonly #length: number;
  readonly #mode: number;
  readonly #tagName: string;
  /** Whether the region is kept twice (atomic commit). */
  readonly atomic: boolean;
  /** Bytes from one copy to the next: the length rounded up to 8. */
  readonly #stride: number;

  /** Describes the files; opens nothing. */
  constructor(
    platform: Platform,
    paths: ResolvedPaths,
    length: number,
    mode: number,
    tagName: string,
    atomic = false,
  ) {
    this.#platform = platform;
    this.#paths = paths;
    this.#length = length;
    this.#mode = mode;
    this.#tagName = tagName;
    this.atomic = atomic;
    this.#stride = Math.ceil(length / 8) * 8;
  }

  /** The data file's size this lock needs: the header and the region (twice when atomic). */
  get #need(): number {
    return HEADER_SIZE + (this.atomic ? 2 * this.#stride : this.#length);
  }

  /**
   * Opens the lock file, creating it (and the default directory) when
   * `create`; returns false if it does not exist and `create` is false.
   */
  openLock(create: boolean): boolean {
    if (this.lockHandle >= 0) return true;
    const path = this.#paths.lockPath;
    if (create) this.#prepareDirectory();
    const handle = this.#open(path, create);
    if (handle === null) return false;
    try {
      this.lockId = checkRegular(this.#platform, path, handle).id;
      const other = openLockFiles.get(this.lockId.join(":"));
      if (other !== undefined && other !== this) {
        throw new LockFileError(
          path,
          "EALIAS",
          `is the same file as ${other.lockPath}, which another MemoryShareLock of this realm has open (it would wait on itself); use that instance`,
        );
      }
    } catch (error) {
      this.#platform.close(handle);
      throw error;
    }
    openLockFiles.set(this.lockId.join(":"), this);
    this.lockHandle = handle;
    this.verifiedAt = this.#platform.now();
    // systemd-tmpfiles deletes files by age — and a lock in constant use
    // never looks younger (a mapping's writes do not touch mtime) — unless
    // their directory is flocked.
    this.#directoryHold ??= this.#platform.holdDirectory(
      this.#platform.path.dirname(path),
    );
    return true;
  }

  /** Closes and reopens the lock file: its path now names another file. */
  reopenLock(): void {
    openLockFiles.delete(this.lockId.join(":"));
    this.#platform.close(this.lockHandle);
    this.lockHandle = -1;
    // The directory may have been replaced too (rm -rf, then recreated):
    // check it again (the default one is recreated) and hold the new one.
    if (this.#directoryHold !== null) {
      this.#platform.close(this.#directoryHold);
      this.#directoryHold = null;
    }
    this.#directoryChecked = false;
    this.openLock(true);
  }

  /**
   * Whether the lock file at the path is still the one `lockHandle` refers
   * to; a yes is remembered in `verifiedAt`.
   */
  lockPathIsOurs(): boolean {
    const onDisk = statPath(this.#platform, this.#paths.lockPath);
    if (onDisk === null) return false;
    const id = this.lockId;
    if (!onDisk.id.every((word, i) => word === id[i])) return false;
    this.verifiedAt = this.#platform.now();
    return true;
  }

  /**
   * Opens (creating if needed), extends and maps the data file. Call only
   * while holding the OS lock. Refuses, without changing a byte, a file that
   * is not a memshare data file.
   */
  mapData(): Header {
    if (this.header !== null && this.#adopted) return this.header;
    const header = this.header ?? this.#map(true);
    // Under the lock: record our length and tag (an atomic file's is fixed).
    if (header.length < this.#length && !this.atomic) {
      header.length = this.#length;
    }
    if (header.tag !== this.#tagName) header.tag = this.#tagName;
    this.#adopted = true;
    return header;
  }

  /**
   * Maps the data file without holding the lock when it already exists,
   * complete and valid, so waiters can sleep on its wake word; `null` when
   * it is missing, short or unreadable (the locked `mapData` deals with it).
   */
  mapIfReady(): Header | null {
    if (this.header !== null) return this.header;
    try {
      const status = this.readHeader() === null
        ? null
        : this.#platform.statHandle(this.#dataHandle);
      if (status === null || status.size < this.#need) {
        return null;
      }
      return this.#map(false);
    } catch {
      return null;
    }
  }

  #map(create: boolean): Header {
    const path = this.#paths.path;
    const need = this.#need;
    if (this.#dataHandle < 0) this.#dataHandle = this.#open(path, true)!;
    const handle = this.#dataHandle;
    let mapping: Mapping | null = null;
    try {
      const status = checkData(this.#platform, path, handle);
      // A file made with the other `atomic` setting is refused before a byte changes.
      if (status.size > 0) this.#checkMode(this.#readHeader(path, handle));
      if (status.size < need) {
        if (!create) throw new Error("the data file is not complete yet");
        explained(
          path,
          `extending it to ${need} bytes`,
          () => this.#platform.extend(handle, need),
        );
      }
      mapping = explained(
        path,
        "mapping it",
        () => this.#platform.map(handle, need),
      );
      const header = new Header(mapping.buffer(0, HEADER_SIZE));
      const check = header.check();
      if (!check.ok) throw new LockFileError(path, "EHEADER", check.problem);
      if (check.fresh) {
        if (!create) throw new Error("the data file is not initialized yet");
        header.initialize(this.#length, this.atomic ? FLAG_ATOMIC : 0);
      } else this.#checkMode(header);
      this.mapping = mapping;
      this.header = header;
      return header;
    } catch (error) {
      if (mapping !== null) this.#platform.unmap(mapping);
      // Checked again from the start next time: a refused file (a FIFO, a
      // foreign one) is not read through a handle kept from this attempt.
      this.#platform.close(handle);
      this.#dataHandle = -1;
      throw error;
    }
  }

  /**
   * The buffer guards view the user region through. One at a time: when a
   * guard that viewed it is released, `retireRegion` moves the memory to a
   * new buffer (`transfer()`, zero-copy), which detaches every view of the
   * old one — cheaper than a new buffer per guard plus `transfer(0)`.
   */
  region(): ArrayBuffer {
    if (this.#region === null || this.#region.detached) {
      this.#region = this.mapping!.buffer(HEADER_SIZE, this.#length);
    }
    return this.#region;
  }

  /** Detaches all views of the current region buffer (see `region`). */
  retireRegion(): void {
    const region = this.#region;
    this.#region = region === null || region.detached
      ? null
      : region.transfer();
    if (this.atomic) {
      // Only a copy lent out this turn can have views: moving the other
      // too cost an atomic turn a second transfer() (≈ 0.3 µs).
      for (const i of [0, 1]) {
        if (!this.#lent[i]) continue;
        this.#lent[i] = false;
        const copy = this.#copies[i];
        this.#copies[i] = copy === null || copy.detached
          ? null
          : copy.transfer();
      }
    }
  }

  /** Atomic commit: the buffer guards view copy `i` (0 or 1) through (see `region`). */
  regionAt(i: number): ArrayBuffer {
    this.#lent[i] = true;
    const copy = this.#copies[i];
    if (copy !== null && !copy.detached) return copy;
    return this.#copies[i] = this.mapping!.buffer(
      HEADER_SIZE + i * this.#stride,
      this.#length,
    );
  }

  /** Atomic commit: the engine's own view of copy `i`, never handed out. */
  copyBytes(i: number): Uint8Array {
    return this.#copyBytes[i] ??= new Uint8Array(
      this.mapping!.buffer(HEADER_SIZE + i * this.#stride, this.#length),
    );
  }

  /** Refuses a header whose atomic setting (or an atomic file's length) is not ours. */
  #checkMode(header: Header): void {
    const atomic = (header.flags & FLAG_ATOMIC) !== 0;
    const path = this.#paths.path;
    if (atomic !== this.atomic) {
      throw new LockFileError(
        path,
        "EATOMIC",
        atomic
          ? `was created with atomic: true (a ${header.length}-byte region kept twice); this MemoryShareLock has atomic: false. Every process must agree: pass atomic: true, or use another name`
          : `was created without atomic (atomic: false); this MemoryShareLock has atomic: true. Every process must agree: drop atomic, or use another name`,
      );
    }
    if (atomic && header.length !== this.#length) {
      throw new LockFileError(
        path,
        "EATOMIC",
        `is an atomic lock file with a ${header.length}-byte region (fixed at creation); this MemoryShareLock asks for ${this.#length} bytes. Use length: ${header.length}, or another name`,
      );
    }
  }

  /**
   * The header: the live one once mapped, else a copy read from the file
   * (`null` when the data file does not exist yet).
   */
  readHeader(): Header | null {
    if (this.header !== null) return this.header;
    const path = this.#paths.path;
    if (this.#dataHandle < 0) {
      const handle = this.#open(path, false);
      if (handle === null) return null;
      try {
        checkData(this.#platform, path, handle);
      } catch (error) {
        this.#platform.close(handle);
        throw error;
      }
      this.#dataHandle = handle;
    }
    return this.#readHeader(path, this.#dataHandle);
  }

  /** Unmaps and closes everything. No view of the mapping may be alive. */
  close(): void {
    const p = this.#platform;
    if (this.mapping !== null) {
      // Detach every view first: touching one after munmap would crash.
      for (const buffer of [this.#region, ...this.#copies]) {
        if (buffer !== null && !buffer.detached) buffer.transfer(0);
      }
      for (const bytes of this.#copyBytes) {
        (bytes?.buffer as ArrayBuffer | undefined)?.transfer(0);
      }
      this.#region = null;
      this.#copies.fill(null);
      this.#copyBytes.fill(null);
      (this.header!.words.buffer as ArrayBuffer).transfer(0);
      this.header = null;
      p.unmap(this.mapping);
      this.mapping = null;
    }
    if (this.#dataHandle >= 0) p.close(this.#dataHandle);
    if (this.lockHandle >= 0) {
      openLockFiles.delete(this.lockId.join(":"));
      p.close(this.lockHandle);
    }
    if (this.#directoryHold !== null) p.close(this.#directoryHold);
    this.#dataHandle = this.lockHandle = -1;
    this.#directoryHold = null;
  }

  #readHeader(path: string, handle: Handle): Header {
    const copy = new Uint8Array(HEADER_SIZE);
    explained(
      path,
      "reading its header",
      () => this.#platform.readAt(handle, copy, 0),
    );
    const header = new Header(copy.buffer);
    const check = header.check();
    if (!check.ok) throw new LockFileError(path, "EHEADER", check.problem);
    return header;
  }

  /** Checks the directory once (again after `reopenLock`): see `prepareLockDirectory`. */
  #prepareDirectory(): void {
    if (this.#directoryChecked) return;
    prepareLockDirectory(this.#platform, this.#paths);
    this.#directoryChecked = true;
  }

  #open(path: string, create: boolean): Handle | null {
    try {
      return this.#platform.openFile(path, create, this.#mode);
    } catch (error) {
      if (!create && error instanceof OsError && error.code === "ENOENT") {
        return null;
      }
      throw explain(
        path,
        error,
        create ? "opening or creating it" : "opening it",
      );
    }
  }
}
