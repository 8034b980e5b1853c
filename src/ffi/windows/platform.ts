/**
 * The Windows platform over kernel32: `LockFileEx` on byte 0 (length 1) of
 * the lock file — the range Python's filelock locks — and
 * `CreateFileMappingW` + `MapViewOfFile` of the data file.
 *
 * Files are opened with every share mode (other processes open them, tools
 * may delete them, as on POSIX); lock and data files also with
 * `FILE_FLAG_OPEN_REPARSE_POINT`, so a symlink or junction at a lock or data
 * path is opened itself, seen, and refused (`ELOOP`) — never followed
 * (`readFile`, a plain reader, follows links as POSIX `open` does).
 * Handles are not inheritable (no security attributes), the equivalent of
 * `O_CLOEXEC`.
 *
 * Windows has no permission bits: `mode` is not applied (files and the
 * default directory inherit the ACL of their directory; `%TEMP%` is private
 * to the user), and `uid()` is -1 so that `src/lock` skips its owner checks.
 *
 * Waiting sleeps until the OS lock is released (`windows_waits.ts`).
 *
 * @module
 */

import { win32 as windowsPath } from "node:path";
import { openKernel32 } from "./kernel32.ts";
import {
  BY_HANDLE_FILE_INFORMATION as INFO,
  CREATE_NEW,
  ERROR,
  ERROR_NAMES,
  FILE_ATTRIBUTE_DEVICE,
  FILE_ATTRIBUTE_DIRECTORY,
  FILE_ATTRIBUTE_NORMAL,
  FILE_ATTRIBUTE_READONLY,
  FILE_ATTRIBUTE_REPARSE_POINT,
  FILE_END_OF_FILE_INFO,
  FILE_FLAG_BACKUP_SEMANTICS,
  FILE_FLAG_OPEN_REPARSE_POINT,
  FILE_MAP_READ_WRITE,
  FILE_READ_ATTRIBUTES,
  FILE_SHARE_ALL,
  FILE_TYPE_DISK,
  FILE_TYPE_UNKNOWN,
  FORMAT_MESSAGE_SYSTEM,
  GENERIC_READ,
  GENERIC_READ_WRITE,
  INVALID_FILE_ATTRIBUTES,
  LOCKFILE_EXCLUSIVE_LOCK,
  LOCKFILE_FAIL_IMMEDIATELY,
  OPEN_EXISTING,
  OVERLAPPED,
  PAGE_READWRITE,
  PROCESS_QUERY_LIMITED_INFORMATION,
  SYNCHRONIZE,
  WAIT_TIMEOUT,
} from "./constants.ts";
import {
  type FileKind,
  type FileStatus,
  type Handle,
  type Mapping,
  OsError,
  type Platform,
} from "../platform.ts";
import { readToEnd } from "../read_to_end.ts";
import { type Pointer, runtime } from "../runtime/runtime.ts";
import { readWide, wide, wideBuffer } from "./utf16.ts";
import { windowsWaits } from "./waits.ts";

/** A Windows mapping: the view's base address, and the file for FlushFileBuffers. */
interface WindowsMapping extends Mapping {
  readonly pointer: Pointer;
  readonly file: Handle;
}

/** Metadata of something that is not a file on a disk (a pipe, a console, `NUL`). */
const NOT_ON_DISK: FileStatus = Object.freeze({
  id: Object.freeze([0, 0, 0, 0] as const),
  kind: "other",
  mode: 0,
  links: 1,
  uid: -1,
  size: 0,
});

/** Builds the Windows platform. */
export function windowsPlatform(): Platform {
  const k = openKernel32();
  const info = new Uint8Array(INFO.size);
  const infoView = new DataView(info.buffer);
  // Lock calls always use offset 0, so their OVERLAPPED stays all zero (the
  // kernel writes only its Internal fields); reads get their own.
  const lockOverlapped = new Uint8Array(OVERLAPPED.size);
  const readOverlapped = new Uint8Array(OVERLAPPED.size);
  const readOverlappedView = new DataView(readOverlapped.buffer);
  const count = new Uint8Array(4);
  const countView = new DataView(count.buffer);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const sleep = (ms: number): void => void Atomics.wait(sleeper, 0, 0, ms);
  const wakeNames = new WeakMap<Mapping, string>();

  function message(code: number): string {
    const buffer = wideBuffer(512);
    const n = k.FormatMessageW(
      FORMAT_MESSAGE_SYSTEM,
      null,
      code,
      0,
      buffer,
      512,
      null,
    );
    const text = readWide(buffer, n).trim().replace(/\.$/, "");
    return text === "" ? `Windows error ${code}` : text;
  }
  function error(
    syscall: string,
    code: number,
    path?: string,
    name: string = ERROR_NAMES[code] ?? `ERROR_${code}`,
  ): OsError {
    return new OsError(syscall, code, name, message(code), path);
  }
  function fail(syscall: string, path?: string): never {
    throw error(syscall, k.GetLastError(), path);
  }

  /** Fills `info` for `handle`, or throws. */
  function readInfo(handle: Handle): void {
    if (k.GetFileInformationByHandle(handle, info) === 0) {
      fail("GetFileInformationByHandle");
    }
  }

  function kindOf(attributes: number): FileKind {
    // Reparse first: a directory junction is a link, not a directory to enter.
    if ((attributes & FILE_ATTRIBUTE_REPARSE_POINT) !== 0) return "symlink";
    if ((attributes & FILE_ATTRIBUTE_DIRECTORY) !== 0) return "directory";
    if ((attributes & FILE_ATTRIBUTE_DEVICE) !== 0) return "other";
    return "file";
  }

  /** Decodes `info` after a successful GetFileInformationByHandle. */
  function decodeInfo(): FileStatus {
    const v = infoView;
    const attributes = v.getUint32(INFO.attributes, true);
    const kind = kindOf(attributes);
    // Windows has no permission bits; report what Node/libuv report.
    const readOnly = (attributes & FILE_ATTRIBUTE_READONLY) !== 0;
    const mode = (readOnly ? 0o444 : 0o666) |
      (kind === "directory" ? 0o111 : 0);
    return {
      id: [
        v.getUint32(INFO.indexLow, true),
        v.getUint32(INFO.indexHigh, true),
        v.getUint32(INFO.volumeSerial, true),
        0,
      ],
      kind,
      mode,
      links: v.getUint32(INFO.links, true),
      uid: -1,
      size: v.getUint32(INFO.sizeHigh, true) * 2 ** 32 +
        v.getUint32(INFO.sizeLow, true),
    };
  }

  /**
   * The name of the wake event of the word at `offset` of `mapping`, from
   * its file's identity, so every process finds the same one (Local\: the
   * session's namespace, which needs no privilege).
   */
  function wakeName(mapping: Mapping, offset: number): string | null {
    let base = wakeNames.get(mapping);
    if (base === undefined) {
      const file = (mapping as WindowsMapping).file;
      if (k.GetFileInformationByHandle(file, info) === 0) return null;
      const hex = (at: number) =>
        infoView.getUint32(at, true).toString(16).padStart(8, "0");
      base = `Local\\memshare-wake-${hex(INFO.volumeSerial)}-${
        hex(INFO.indexHigh)
      }${hex(INFO.indexLow)}`;
      wakeNames.set(mapping, base);
    }
    return `${base}-${offset}`;
  }
  const waits = windowsWaits(k, wakeName, sleep);

  function statHandle(handle: Handle): FileStatus {
    // Devices and pipes have no file information; say what they are instead.
    const type = k.GetFileType(handle);
    if (type !== FILE_TYPE_DISK) {
      // UNKNOWN is also the failure value; only then is the last error set.
      if (type === FILE_TYPE_UNKNOWN) {
        const e = k.GetLastError();
        if (e !== ERROR.SUCCESS) throw error("GetFileType", e);
      }
      return NOT_ON_DISK;
    }
    readInfo(handle);
    return decodeInfo();
  }

  function statPath(path: string): FileStatus | null {
    // Opening for attributes only, with backup semantics (directories) and
    // the reparse point itself (a link is reported, not followed).
    const handle = k.CreateFileW(
      wide(path),
      FILE_READ_ATTRIBUTES,
      FILE_SHARE_ALL,
      null,
      OPEN_EXISTING,
      FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT,
      0,
    );
    if (handle === -1) {
      const e = k.GetLastError();
      if (e === ERROR.FILE_NOT_FOUND || e === ERROR.PATH_NOT_FOUND) return null;
      throw error("CreateFileW", e, path);
    }
    try {
      return statHandle(handle);
    } finally {
      k.CloseHandle(handle);
    }
  }

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

  function getTempPath(): string {
    const buffer = wideBuffer(1024);
    const n = k.GetTempPathW(1024, buffer);
    if (n === 0 || n > 1024) fail("GetTempPathW");
    return readWide(buffer, n);
  }

  return {
    os: "windows",
    arch: runtime.arch,
    table: `windows-${runtime.arch}`,
    path: windowsPath,
    pid: () => k.GetCurrentProcessId(),
    now: Date.now,
    uid: () => -1,
    cwd() {
      for (let size = 512;;) {
        const buffer = wideBuffer(size);
        const n = k.GetCurrentDirectoryW(size, buffer);
        if (n === 0) fail("GetCurrentDirectoryW");
        // Too small: n is the size needed, including the NUL.
        if (n < size) return readWide(buffer, n);
        size = n;
      }
    },
    env(name) {
      const key = wide(name);
      for (let size = 256;;) {
        const buffer = wideBuffer(size);
        const n = k.GetEnvironmentVariableW(key, buffer, size);
        if (n === 0) {
          const e = k.GetLastError();
          if (e === ERROR.ENVVAR_NOT_FOUND) return undefined;
          if (e === ERROR.SUCCESS) return "";
          throw error("GetEnvironmentVariableW", e);
        }
        if (n < size) return readWide(buffer, n);
        size = n;
      }
    },
    defaultDirectory: () => windowsPath.join(getTempPath(), "memshare"),
    statPath,
    statHandle,
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
    tryLock(handle, shared) {
      // A probe of ours granted by a release must not make us fail.
      waits.releaseGranted();
      const flags = shared === true
        ? LOCKFILE_FAIL_IMMEDIATELY
        : LOCKFILE_FAIL_IMMEDIATELY | LOCKFILE_EXCLUSIVE_LOCK;
      if (k.LockFileEx(handle, flags, 0, 1, 0, lockOverlapped) !== 0) {
        return true;
      }
      let e = k.GetLastError();
      if (e === ERROR.IO_PENDING) {
        // Only a handle opened FILE_FLAG_OVERLAPPED pends (ours never are);
        // with FAIL_IMMEDIATELY the answer is already decided: fetch it.
        if (k.GetOverlappedResult(handle, lockOverlapped, count, 1) !== 0) {
          return true;
        }
        e = k.GetLastError();
      }
      if (e === ERROR.LOCK_VIOLATION) return false;
      throw error("LockFileEx", e);
    },
    unlock(handle) {
      if (k.UnlockFileEx(handle, 0, 1, 0, lockOverlapped) === 0) {
        fail("UnlockFileEx");
      }
    },
    map(handle, length) {
      const section = k.CreateFileMappingW(
        handle,
        null,
        PAGE_READWRITE,
        Math.floor(length / 2 ** 32),
        length % 2 ** 32,
        null,
      );
      if (section === 0) fail("CreateFileMappingW");
      const pointer = k.MapViewOfFile(
        section,
        FILE_MAP_READ_WRITE,
        0,
        0,
        length,
      );
      const e = k.GetLastError();
      // The view holds its own reference to the section: close ours now.
      k.CloseHandle(section);
      if (runtime.address(pointer) === 0n) throw error("MapViewOfFile", e);
      const mapping: WindowsMapping = {
        length,
        pointer,
        file: handle,
        buffer: (offset, len) => runtime.arrayBuffer(pointer, offset, len),
      };
      return mapping;
    },
    unmap(mapping) {
      const m = mapping as WindowsMapping;
      if (k.UnmapViewOfFile(m.pointer) === 0) fail("UnmapViewOfFile");
    },
    flush(mapping) {
      // FlushViewOfFile only starts the writes; FlushFileBuffers waits for
      // them (and the metadata), which is what msync(MS_SYNC) promises.
      const m = mapping as WindowsMapping;
      if (k.FlushViewOfFile(m.pointer, m.length) === 0) fail("FlushViewOfFile");
      if (k.FlushFileBuffers(m.file) === 0) fail("FlushFileBuffers");
    },
    close(handle) {
      k.CloseHandle(handle);
    },
    processAlive(pid) {
      const handle = k.OpenProcess(
        SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION,
        0,
        pid,
      );
      // Denied: it exists but belongs to someone else (as EPERM from kill).
      if (handle === 0) return k.GetLastError() === ERROR.ACCESS_DENIED;
      try {
        // An exited process lingers while someone holds a handle to it.
        return k.WaitForSingleObject(handle, 0) === WAIT_TIMEOUT;
      } finally {
        k.CloseHandle(handle);
      }
    },
    wakeups: waits.wakeups,
    wake: waits.wake,
    waitSync: waits.waitSync,
    waitAny: waits.waitAny,
    interruptWait: waits.interruptWait,
    sleep,
  };
}
