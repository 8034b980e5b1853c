/**
 * The POSIX platform (Linux, macOS) over libc: `flock` on the lock file,
 * `mmap(MAP_SHARED)` of the data file, `statx`/`fstat` for identities.
 *
 * @module
 */

import { posix as posixPath } from "node:path";
import { openLibc } from "./libc.ts";
import { posixReadFile } from "./read_file.ts";
import { errnoNames } from "./errno.ts";
import {
  type PosixConstants,
  posixConstants,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  STATX,
} from "./constants.ts";
import {
  type FileId,
  type FileKind,
  type FileStatus,
  type Handle,
  type LockWait,
  type Mapping,
  OsError,
  type Platform,
} from "../platform.ts";
import { type Pointer, runtime } from "../runtime/runtime.ts";
import { linuxFutex } from "../linux/futex.ts";
import { darwinAddressWaits } from "../darwin/address_waits.ts";
import { timedWaits } from "../timed_waits.ts";
import { wallClock } from "./wall_clock.ts";

const MAP_FAILED = 0xffff_ffff_ffff_ffffn;
/** What flock(2) itself can fail with, by name (the same on Linux and macOS). */
const FLOCK_ERRORS = new Set([
  "EWOULDBLOCK",
  "EAGAIN",
  "EINTR",
  "EBADF",
  "EINVAL",
  "ENOLCK",
  "ENOMEM",
  "EOPNOTSUPP",
]);
/** `renameat2` flag: fail with EEXIST rather than replace (include/uapi/linux/fs.h). */
const RENAME_NOREPLACE = 1;

/** A POSIX mapping: the base pointer kept for munmap/msync. */
interface PosixMapping extends Mapping {
  readonly pointer: Pointer;
  /** The base address, for wait words (futex, os_sync, ulock). */
  readonly address: number;
}

/** Builds the POSIX platform for the running OS and architecture. */
export function posixPlatform(): Platform {
  const c: PosixConstants = posixConstants(runtime.os, runtime.arch);
  const libc = openLibc(c);
  const names = errnoNames(runtime.os);
  const E = {
    EPERM: 1,
    ENOENT: 2,
    EINTR: 4,
    EEXIST: 17,
    ENOTDIR: 20,
    EINVAL: 22,
    EAGAIN: runtime.os === "darwin" ? 35 : 11,
    EOPNOTSUPP: runtime.os === "darwin" ? 102 : 95,
    ENOTSUP: runtime.os === "darwin" ? 45 : 95,
    ENOSYS: runtime.os === "darwin" ? 78 : 38,
  };
  const encoder = new TextEncoder();
  const cString = (s: string): Uint8Array => encoder.encode(s + "\0");
  const openFlags = c.O_RDWR | c.O_NOFOLLOW | c.O_CLOEXEC | c.O_NONBLOCK;
  const lockExclusive = c.LOCK_EX | c.LOCK_NB;
  const lockShared = c.LOCK_SH | c.LOCK_NB;
  const statBuffer = new Uint8Array(c.stat.size);
  const statView = new DataView(statBuffer.buffer);
  const emptyPath = cString("");
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const sleep = (ms: number) => void Atomics.wait(sleeper, 0, 0, ms);
  // Kernel wake-ups where the OS has them; else waiting for a lock polls.
  const futex = linuxFutex(libc, c) ?? darwinAddressWaits(libc, c);
  const address = (w: LockWait): number =>
    (w.mapping as PosixMapping).address + w.offset;
  const waits = futex === undefined ? timedWaits(sleep) : {
    wakeups: true,
    wake: (mapping: Mapping, offset: number) =>
      futex.wake((mapping as PosixMapping).address + offset),
    waitSync(wait: LockWait, ms: number) {
      if (wait.mapping === null) sleep(ms);
      else futex.waitSync(address(wait), wait.expected, ms);
    },
    waitAny: (waits: readonly LockWait[], ms: number) =>
      futex.waitAny(
        waits.filter((w) => w.mapping !== null).map((w) => ({
          address: address(w),
          expected: w.expected,
        })),
        ms,
      ),
    interruptWait: () => futex.interrupt(),
  };

  function error(syscall: string, errno: number, path?: string): OsError {
    return new OsError(
      syscall,
      errno,
      names[errno] ?? `errno ${errno}`,
      runtime.cString(libc.strerror(errno)),
      path,
    );
  }
  function fail(syscall: string, path?: string): never {
    throw error(syscall, libc.errno(), path);
  }

  function kindOf(mode: number): FileKind {
    switch (mode & S_IFMT) {
      case S_IFREG:
        return "file";
      case S_IFDIR:
        return "directory";
      case S_IFLNK:
        return "symlink";
      default:
        return "other";
    }
  }

  /** Decodes `statBuffer` after a successful statx/fstat. */
  function decodeStat(): FileStatus {
    const v = statView;
    if (c.stat.kind === "statx") {
      const mode = v.getUint16(STATX.mode, true);
      return {
        id: [
          v.getUint32(STATX.ino, true),
          v.getUint32(STATX.ino + 4, true),
          v.getUint32(STATX.devMajor, true),
          v.getUint32(STATX.devMinor, true),
        ],
        kind: kindOf(mode),
        mode: mode & 0o7777,
        links: v.getUint32(STATX.nlink, true),
        uid: v.getUint32(STATX.uid, true),
        size: Number(v.getBigUint64(STATX.size, true)),
      };
    }
    const s = c.stat;
    const field = ([offset, width]: readonly [number, number]): number =>
      width === 2
        ? v.getUint16(offset, true)
        : width === 4
        ? v.getUint32(offset, true)
        : Number(v.getBigUint64(offset, true));
    const mode = field(s.mode);
    const id: FileId = [
      v.getUint32(s.ino[0], true),
      v.getUint32(s.ino[0] + 4, true),
      v.getUint32(s.dev[0], true),
      0,
    ];
    return {
      id,
      kind: kindOf(mode),
      mode: mode & 0o7777,
      links: field(s.nlink),
      uid: field(s.uid),
      size: field(s.fileSize),
    };
  }

  function statPath(path: string): FileStatus | null {
    const p = cString(path);
    const r = c.stat.kind === "statx"
      ? libc.statx!(
        c.AT_FDCWD,
        p,
        c.AT_SYMLINK_NOFOLLOW,
        c.stat.mask,
        statBuffer,
      )
      : libc.fstatat!(c.AT_FDCWD, p, statBuffer, c.AT_SYMLINK_NOFOLLOW);
    if (r === 0) return decodeStat();
    const e = libc.errno();
    if (e === E.ENOENT || e === E.ENOTDIR) return null;
    throw error(c.stat.kind, e, path);
  }

  function statHandle(fd: Handle): FileStatus {
    const r = c.stat.kind === "statx"
      ? libc.statx!(
        fd,
        emptyPath,
        c.stat.AT_EMPTY_PATH,
        c.stat.mask,
        statBuffer,
      )
      : libc.fstat!(fd, statBuffer);
    if (r !== 0) fail(c.stat.kind === "statx" ? "statx" : "fstat");
    return decodeStat();
  }

  /**
   * Whether a failed `flock` that left errno `e` is worth asking again (the
   * `attempt`th time). flock(2) fails only with the errors in
   * `FLOCK_ERRORS`; any other value was not the call's (a
   * stress run under Deno once read ENOENT), so the call is made again, a
   * few times, before it is reported.
   */
  const retryFlock = (e: number, attempt: number): boolean =>
    !FLOCK_ERRORS.has(names[e] ?? "") && attempt <= 3;

  /**
   * `renameat2(from, to, RENAME_NOREPLACE)`: 0, or the errno (`EEXIST` when
   * `to` exists). `undefined` where the OS has no such call (macOS).
   */
  const renameNoReplace = c.SYS_renameat2 === 0
    ? undefined
    : (from: Uint8Array, to: Uint8Array): number => {
      // dirfd is an `int`: the kernel reads the low 32 bits of the word.
      const here = c.AT_FDCWD >>> 0;
      const r = libc.syscall(
        c.SYS_renameat2,
        here,
        runtime.addressOf(from),
        here,
        runtime.addressOf(to),
        RENAME_NOREPLACE,
        0,
      );
      const e = r === 0 ? 0 : libc.errno();
      // Both paths are referenced until here: the kernel reads them.
      void [from, to];
      return e;
    };

  /**
   * Creates `path` with exactly `mode` so that it never exists with another
   * mode: a private temporary file in the same directory is given the mode,
   * then published under `path`, failing if someone else created `path`
   * first. Linux renames it into place (`RENAME_NOREPLACE`), so the file
   * never has a second name; macOS, and Linux filesystems without that
   * flag, hard-link it and unlink the temporary name — a process killed
   * in between leaves `path` with two links, which the lock refuses.
   *
   * The temporary name is short and fixed-length, so any `path` whose own
   * name fits (`NAME.lock` included) can be created.
   */
  function createExclusive(path: string, mode: number): Handle | null {
    const directory = posixPath.dirname(path);
    const template = cString(posixPath.join(directory, ".memshare-XXXXXX"));
    const fd = libc.mkostemp(template, c.O_CLOEXEC);
    if (fd < 0) fail("mkostemp", directory);
    // mkostemp wrote the chosen name into `template`.
    const temporary = template;
    const target = cString(path);
    // Once renamed, the temporary name is not ours to unlink: another
    // process's mkostemp may already have reused it.
    let temporaryNamed = true;
    try {
      if (libc.fchmod(fd, mode) !== 0) fail("fchmod", path);
      const e = renameNoReplace?.(temporary, target) ?? E.ENOSYS;
      if (e === 0) {
        temporaryNamed = false;
        return fd;
      }
      if (e === E.EEXIST) {
        libc.close(fd);
        return null;
      }
      // EINVAL: a filesystem without RENAME_NOREPLACE; ENOSYS: a kernel
      // without renameat2, or macOS; EPERM: a seccomp filter refusing it.
      if (e !== E.EINVAL && e !== E.ENOSYS && e !== E.EPERM) {
        throw error("renameat2", e, path);
      }
      if (libc.link(temporary, target) !== 0) {
        const e = libc.errno();
        if (e === E.EEXIST) {
          libc.close(fd);
          return null;
        }
        throw error("link", e, path);
      }
      return fd;
    } catch (e) {
      libc.close(fd);
      throw e;
    } finally {
      if (temporaryNamed) libc.unlink(temporary);
    }
  }

  const getenv = (name: string): string | undefined => {
    const p = libc.getenv(cString(name));
    return runtime.address(p) === 0n ? undefined : runtime.cString(p);
  };

  return {
    os: runtime.os,
    arch: runtime.arch,
    table: c.table,
    path: posixPath,
    pid: () => libc.getpid(),
    now: wallClock(libc, runtime.os),
    uid: () => libc.getuid(),
    cwd() {
      const buf = new Uint8Array(4096);
      if (runtime.address(libc.getcwd(buf, buf.length)) === 0n) fail("getcwd");
      return new TextDecoder().decode(buf.subarray(0, buf.indexOf(0)));
    },
    env: getenv,
    defaultDirectory() {
      if (runtime.os === "darwin") {
        const tmp = getenv("TMPDIR");
        if (tmp !== undefined && posixPath.isAbsolute(tmp)) {
          return posixPath.join(tmp, "memshare");
        }
      } else {
        const xdg = getenv("XDG_RUNTIME_DIR");
        if (xdg !== undefined && posixPath.isAbsolute(xdg)) {
          return posixPath.join(xdg, "memshare");
        }
      }
      return `/tmp/memshare-${libc.getuid()}`;
    },
    statPath,
    statHandle,
    makeDirectory(path, mode) {
      const p = cString(path);
      if (libc.mkdir(p, mode) !== 0) {
        const e = libc.errno();
        if (e === E.EEXIST) return false;
        throw error("mkdir", e, path);
      }
      // mkdir applies the umask; set exactly what was asked.
      const fd = libc.open(
        p,
        c.O_RDONLY | c.O_DIRECTORY | c.O_NOFOLLOW | c.O_CLOEXEC,
      );
      if (fd < 0) fail("open", path);
      try {
        if (libc.fchmod(fd, mode) !== 0) fail("fchmod", path);
      } finally {
        libc.close(fd);
      }
      return true;
    },
    openFile(path, create, mode) {
      const p = cString(path);
      for (let attempt = 0; attempt < 100; attempt++) {
        const fd = libc.open(p, openFlags);
        if (fd >= 0) return fd;
        const e = libc.errno();
        if (e === E.EINTR) continue;
        if (e !== E.ENOENT || !create) throw error("open", e, path);
        const created = createExclusive(path, mode);
        if (created !== null) return created;
      }
      throw error("open", E.EEXIST, path);
    },
    holdDirectory(path) {
      const fd = libc.open(
        cString(path),
        c.O_RDONLY | c.O_DIRECTORY | c.O_CLOEXEC,
      );
      if (fd < 0) return null;
      // Never waits: a cleaner holds its exclusive lock only while it scans.
      if (libc.flock(fd, c.LOCK_SH | c.LOCK_NB) === 0) return fd;
      libc.close(fd);
      return null;
    },
    readFile: posixReadFile(libc, c, E, error),
    readAt(fd, into, offset) {
      const n = libc.pread(fd, into, into.length, offset);
      if (n < 0) fail("pread");
      return n;
    },
    extend(fd, size) {
      if (libc.posix_fallocate !== undefined) {
        const e = libc.posix_fallocate(fd, 0, size);
        if (e === 0) return;
        if (e !== E.EOPNOTSUPP && e !== E.ENOTSUP && e !== E.EINVAL) {
          throw error("posix_fallocate", e);
        }
      }
      if (libc.ftruncate(fd, size) !== 0) fail("ftruncate");
    },
    tryLock(fd, shared) {
      const op = shared === true ? lockShared : lockExclusive;
      for (let unlikely = 0;;) {
        if (libc.flock(fd, op) === 0) return true;
        const e = libc.errno();
        if (e === E.EAGAIN) return false;
        if (e !== E.EINTR && !retryFlock(e, ++unlikely)) {
          throw error("flock", e);
        }
      }
    },
    lock: runtime.mainThread
      ? (fd) => {
        for (let unlikely = 0; libc.flock(fd, c.LOCK_EX) !== 0;) {
          const e = libc.errno();
          if (e !== E.EINTR && !retryFlock(e, ++unlikely)) {
            throw error("flock", e);
          }
        }
      }
      : undefined,
    unlock(fd) {
      if (libc.flock(fd, c.LOCK_UN) !== 0) fail("flock");
    },
    map(fd, length) {
      const pointer = libc.mmap(
        null,
        length,
        c.PROT_READ | c.PROT_WRITE,
        c.MAP_SHARED,
        fd,
        0,
      );
      const address = runtime.address(pointer);
      if (address === MAP_FAILED || address === 0n) fail("mmap");
      const mapping: PosixMapping = {
        length,
        pointer,
        address: Number(address),
        buffer: (offset, len) => runtime.arrayBuffer(pointer, offset, len),
      };
      return mapping;
    },
    unmap(mapping) {
      const m = mapping as PosixMapping;
      if (libc.munmap(m.pointer, m.length) !== 0) fail("munmap");
    },
    flush(mapping) {
      const m = mapping as PosixMapping;
      if (libc.msync(m.pointer, m.length, c.MS_SYNC) !== 0) fail("msync");
    },
    close(fd) {
      // close() is never retried on EINTR: the fd is released either way.
      libc.close(fd);
    },
    processAlive(pid) {
      if (libc.kill(pid, 0) === 0) return true;
      return libc.errno() === E.EPERM;
    },
    sleep,
    ...waits,
  };
}
