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
import { Header, HEADER_SIZE } from "./header.ts";
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
  /** Whether our length and tag were recorded in the header (under the lock). */
  #adopted = false;
  #directoryChecked = false;
  readonly #platform: Platform;
  readonly #paths: ResolvedPaths;
  readonly #length: number;
  readonly #mode: number;
  readonly #tagName: string;

  /** Describes the files; opens nothing. */
  constructor(
    platform: Platform,
    paths: ResolvedPaths,
    length: number,
    mode: number,
    tagName: string,
  ) {
    this.#platform = platform;
    this.#paths = paths;
    this.#length = length;
    this.#mode = mode;
    this.#tagName = tagName;
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
    // Under the lock: record our length and tag.
    if (header.length < this.#length) header.length = this.#length;
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
      if (status === null || status.size < HEADER_SIZE + this.#length) {
        return null;
      }
      return this.#map(false);
    } catch {
      return null;
    }
  }

  #map(create: boolean): Header {
    const path = this.#paths.path;
    const need = HEADER_SIZE + this.#length;
    if (this.#dataHandle < 0) this.#dataHandle = this.#open(path, true)!;
    const handle = this.#dataHandle;
    let mapping: Mapping | null = null;
    try {
      const status = checkData(this.#platform, path, handle);
      if (status.size > 0) this.#readHeader(path, handle);
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
        header.initialize(this.#length);
      }
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
      if (this.#region !== null && !this.#region.detached) {
        this.#region.transfer(0);
      }
      this.#region = null;
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
