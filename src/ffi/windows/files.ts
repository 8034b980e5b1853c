/**
 * Files and directories over kernel32: opening lock and data files (every
 * share mode; a symlink or junction opened itself and refused, never
 * followed), the default directory, reads, growth and closing.
 *
 * @module
 */

import type { Kernel32 } from "./kernel32.ts";
import type { WindowsErrors } from "./errors.ts";
import {
  BY_HANDLE_FILE_INFORMATION as INFO,
  CREATE_NEW,
  ERROR,
  FILE_ATTRIBUTE_DIRECTORY,
  FILE_ATTRIBUTE_NORMAL,
  FILE_ATTRIBUTE_REPARSE_POINT,
  FILE_END_OF_FILE_INFO,
  FILE_FLAG_OPEN_REPARSE_POINT,
  FILE_SHARE_ALL,
  FILE_TYPE_DISK,
  GENERIC_READ,
  GENERIC_READ_WRITE,
  INVALID_FILE_ATTRIBUTES,
  OPEN_EXISTING,
  OVERLAPPED,
} from "./constants.ts";
import { type Handle, OsError, type Platform } from "../platform.ts";
import { readToEnd } from "../read_to_end.ts";
import { wide } from "./utf16.ts";

/** Builds the Windows platform's file and directory operations over `statHandle`. */
export function windowsFiles(
  k: Kernel32,
  { error, fail }: WindowsErrors,
  statHandle: Platform["statHandle"],
): Pick<
  Platform,
  | "makeDirectory"
  | "openFile"
  | "holdDirectory"
  | "readFile"
  | "readAt"
  | "extend"
  | "close"
> {
  const info = new Uint8Array(INFO.size);
  const infoView = new DataView(info.buffer);
  // Positioned reads: the offset goes in an OVERLAPPED (ours are synchronous).
  const readOverlapped = new Uint8Array(OVERLAPPED.size);
  const readOverlappedView = new DataView(readOverlapped.buffer);
  const count = new Uint8Array(4);
  const countView = new DataView(count.buffer);

  /** The error for a failed open of `path`, naming a directory `EISDIR` as POSIX would. */
  function openError(code: number, path: string): OsError {
    if (code === ERROR.ACCESS_DENIED) {
      const attributes = k.GetFileAttributesW(wide(path));
      if (
        attributes !== INVALID_FILE_ATTRIBUTES &&
        (attributes & FILE_ATTRIBUTE_DIRECTORY) !== 0
      ) {
        const name = (attributes & FILE_ATTRIBUTE_REPARSE_POINT) !== 0
          ? "ELOOP"
          : "EISDIR";
        return error("CreateFileW", code, path, name);
      }
    }
    return error("CreateFileW", code, path);
  }

  /** Closes `handle` and throws `ELOOP` when it is a reparse point (we opened the link itself). */
  function refuseReparsePoint(handle: Handle, path: string): void {
    if (k.GetFileType(handle) !== FILE_TYPE_DISK) return; // statHandle reports it
    if (k.GetFileInformationByHandle(handle, info) === 0) {
      const e = k.GetLastError();
      k.CloseHandle(handle);
      throw error("GetFileInformationByHandle", e, path);
    }
    const attributes = infoView.getUint32(INFO.attributes, true);
    if ((attributes & FILE_ATTRIBUTE_REPARSE_POINT) !== 0) {
      k.CloseHandle(handle);
      throw new OsError(
        "CreateFileW",
        0,
        "ELOOP",
        "is a reparse point (symbolic link or junction); memshare does not follow it",
        path,
      );
    }
  }

  function open(path: Uint8Array, disposition: number, flags: number): Handle {
    return k.CreateFileW(
      path,
      GENERIC_READ_WRITE,
      FILE_SHARE_ALL,
      null,
      disposition,
      FILE_FLAG_OPEN_REPARSE_POINT | flags,
      0,
    );
  }

  /** `Platform.readAt`, naming `path` (when known) in its error. */
  function readAt(
    handle: Handle,
    into: Uint8Array,
    offset: number,
    path?: string,
  ): number {
    readOverlappedView.setUint32(OVERLAPPED.offset, offset % 2 ** 32, true);
    readOverlappedView.setUint32(
      OVERLAPPED.offsetHigh,
      Math.floor(offset / 2 ** 32),
      true,
    );
    if (k.ReadFile(handle, into, into.length, count, readOverlapped) === 0) {
      const e = k.GetLastError();
      // A positioned read at or past the end fails with HANDLE_EOF: 0 bytes.
      if (e === ERROR.HANDLE_EOF) return 0;
      throw error("ReadFile", e, path);
    }
    return countView.getUint32(0, true);
  }

  return {
    makeDirectory(path, _mode) {
      // No mode on Windows: the directory inherits its parent's ACL.
      if (k.CreateDirectoryW(wide(path), null) !== 0) return true;
      const e = k.GetLastError();
      if (e === ERROR.ALREADY_EXISTS) return false;
      throw error("CreateDirectoryW", e, path);
    },
    openFile(path, create, _mode) {
      const p = wide(path);
      // Open first (the usual case); create only a missing file, with
      // CREATE_NEW so that of two creators one wins and the other opens it.
      for (let attempt = 0; attempt < 100; attempt++) {
        const handle = open(p, OPEN_EXISTING, 0);
        if (handle !== -1) {
          refuseReparsePoint(handle, path);
          return handle;
        }
        const e = k.GetLastError();
        if (e !== ERROR.FILE_NOT_FOUND || !create) throw openError(e, path);
        const created = open(p, CREATE_NEW, FILE_ATTRIBUTE_NORMAL);
        if (created !== -1) return created;
        const e2 = k.GetLastError();
        if (e2 !== ERROR.FILE_EXISTS) throw openError(e2, path);
      }
      // The name exists but never opens: a dangling link that the system
      // follows anyway (Wine does), which O_NOFOLLOW would call ELOOP.
      throw error("CreateFileW", ERROR.FILE_EXISTS, path, "ELOOP");
    },
    // Windows has no directory lock for a cleaner to honour.
    holdDirectory: () => null,
    readFile(path) {
      // Read access only, and every share mode: holders are not disturbed.
      const handle = k.CreateFileW(
        wide(path),
        GENERIC_READ,
        FILE_SHARE_ALL,
        null,
        OPEN_EXISTING,
        0,
        0,
      );
      if (handle === -1) {
        const e = k.GetLastError();
        if (e === ERROR.FILE_NOT_FOUND || e === ERROR.PATH_NOT_FOUND) {
          return null;
        }
        throw openError(e, path);
      }
      try {
        return readToEnd((into, offset) => readAt(handle, into, offset, path));
      } finally {
        k.CloseHandle(handle);
      }
    },
    readAt,
    extend(handle, size) {
      // Never shrink, even if asked: another process may map more than we do.
      if (statHandle(handle).size >= size) return;
      // On NTFS a non-sparse file's clusters are allocated up to its end, so
      // later writes through the mapping cannot fail for space.
      const end = new Uint8Array(8);
      new DataView(end.buffer).setBigUint64(0, BigInt(size), true);
      if (
        k.SetFileInformationByHandle(handle, FILE_END_OF_FILE_INFO, end, 8) ===
          0
      ) {
        fail("SetFileInformationByHandle");
      }
    },
    close(handle) {
      k.CloseHandle(handle);
    },
  };
}
