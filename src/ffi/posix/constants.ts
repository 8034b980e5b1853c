/**
 * Per OS-arch constants for the libc binding, one table each, with the
 * header every value comes from. Values differ between Linux x86_64, Linux
 * aarch64 and macOS; a wrong table silently changes meaning (on aarch64 the
 * x86_64 `O_NOFOLLOW` is `O_LARGEFILE`), so each table is complete and
 * selected by exact OS and architecture.
 *
 * @module
 */

import type { Architecture, OperatingSystem } from "../runtime/runtime.ts";

/** The constants the POSIX platform uses. */
export interface PosixConstants {
  /** Which table this is, e.g. `linux-x86_64`. */
  readonly table: string;
  /** Shared library that holds libc. */
  readonly libc: readonly string[];
  /** Name of the function returning the thread's `errno` address. */
  readonly errnoLocation: string;
  readonly O_RDONLY: number;
  readonly O_RDWR: number;
  readonly O_CREAT: number;
  readonly O_EXCL: number;
  readonly O_NONBLOCK: number;
  readonly O_NOFOLLOW: number;
  readonly O_CLOEXEC: number;
  readonly O_DIRECTORY: number;
  readonly LOCK_SH: number;
  readonly LOCK_EX: number;
  readonly LOCK_NB: number;
  readonly LOCK_UN: number;
  readonly PROT_READ: number;
  readonly PROT_WRITE: number;
  readonly MAP_SHARED: number;
  /** Memory backed by no file (for process-private wait words). */
  readonly MAP_ANONYMOUS: number;
  readonly MS_SYNC: number;
  readonly AT_FDCWD: number;
  readonly AT_SYMLINK_NOFOLLOW: number;
  /** `SYS_futex`, or 0 where there is no futex. */
  readonly SYS_futex: number;
  /** `SYS_renameat2`, or 0 where there is none (macOS). */
  readonly SYS_renameat2: number;
  /** How file metadata is read: Linux `statx` (one layout on every arch) or a `struct stat` layout. */
  readonly stat: StatxLayout | StatLayout;
}

/** Linux: `statx(2)`, whose `struct statx` is the same on every architecture. */
export interface StatxLayout {
  readonly kind: "statx";
  /** `AT_EMPTY_PATH`: stat the fd itself. */
  readonly AT_EMPTY_PATH: number;
  /** `STATX_BASIC_STATS`. */
  readonly mask: number;
  /** sizeof(struct statx). */
  readonly size: 256;
}

/** A `struct stat` layout, for systems without `statx` (macOS). */
export interface StatLayout {
  readonly kind: "stat";
  /** Symbol names: on macOS x86_64 the 64-bit-inode variants carry `$INODE64`. */
  readonly fstat: string;
  readonly fstatat: string;
  readonly size: number;
  readonly dev: FieldAt;
  readonly ino: FieldAt;
  readonly mode: FieldAt;
  readonly nlink: FieldAt;
  readonly uid: FieldAt;
  readonly fileSize: FieldAt;
}

/** Offset and width (bytes) of one field. */
export type FieldAt = readonly [offset: number, width: 2 | 4 | 8];

/** `struct statx` offsets (include/uapi/linux/stat.h), the same on every Linux arch. */
export const STATX = {
  mode: 28, // __u16 stx_mode
  nlink: 16, // __u32 stx_nlink
  uid: 20, // __u32 stx_uid
  ino: 32, // __u64 stx_ino
  size: 40, // __u64 stx_size
  devMajor: 136, // __u32 stx_dev_major
  devMinor: 140, // __u32 stx_dev_minor
} as const;

/** Values shared by every Linux architecture: include/uapi/asm-generic/fcntl.h, sys/file.h, asm-generic/mman-common.h. */
const LINUX_COMMON = {
  libc: ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"],
  errnoLocation: "__errno_location",
  O_RDONLY: 0,
  O_RDWR: 2,
  O_CREAT: 0x40, // 0100
  O_EXCL: 0x80, // 0200
  O_NONBLOCK: 0x800, // 04000
  O_CLOEXEC: 0x80000, // 02000000
  LOCK_SH: 1,
  LOCK_EX: 2,
  LOCK_NB: 4,
  LOCK_UN: 8,
  PROT_READ: 1,
  PROT_WRITE: 2,
  MAP_SHARED: 1,
  MAP_ANONYMOUS: 0x20, // asm-generic/mman-common.h
  MS_SYNC: 4, // asm-generic/mman-common.h
  AT_FDCWD: -100, // include/uapi/linux/fcntl.h
  AT_SYMLINK_NOFOLLOW: 0x100,
  stat: { kind: "statx", AT_EMPTY_PATH: 0x1000, mask: 0x7ff, size: 256 },
} as const;

/** Linux x86_64: asm-generic/fcntl.h defaults; SYS_futex and SYS_renameat2 from arch/x86/entry/syscalls/syscall_64.tbl. */
export const LINUX_X86_64: PosixConstants = {
  ...LINUX_COMMON,
  table: "linux-x86_64",
  O_NOFOLLOW: 0x20000, // 0400000
  O_DIRECTORY: 0x10000, // 0200000
  SYS_futex: 202,
  SYS_renameat2: 316,
};

/** Linux aarch64: arch/arm64/include/uapi/asm/fcntl.h overrides; SYS_futex and SYS_renameat2 from asm-generic/unistd.h. */
export const LINUX_AARCH64: PosixConstants = {
  ...LINUX_COMMON,
  table: "linux-aarch64",
  O_NOFOLLOW: 0x8000, // 0100000 (0400000 is O_LARGEFILE here)
  O_DIRECTORY: 0x4000, // 040000
  SYS_futex: 98,
  SYS_renameat2: 276,
};

/** macOS (x86_64 and arm64 alike): <sys/fcntl.h>, <sys/file.h>, <sys/mman.h>, <sys/stat.h>. */
function darwin(arch: Architecture): PosixConstants {
  return {
    table: `darwin-${arch}`,
    libc: ["/usr/lib/libSystem.B.dylib"],
    errnoLocation: "__error",
    O_RDONLY: 0,
    O_RDWR: 2,
    O_CREAT: 0x200,
    O_EXCL: 0x800,
    O_NONBLOCK: 0x4,
    O_NOFOLLOW: 0x100,
    O_CLOEXEC: 0x1000000,
    O_DIRECTORY: 0x100000,
    LOCK_SH: 1,
    LOCK_EX: 2,
    LOCK_NB: 4,
    LOCK_UN: 8,
    PROT_READ: 1,
    PROT_WRITE: 2,
    MAP_SHARED: 1,
    MAP_ANONYMOUS: 0x1000, // MAP_ANON
    MS_SYNC: 0x10,
    AT_FDCWD: -2,
    AT_SYMLINK_NOFOLLOW: 0x20,
    SYS_futex: 0,
    SYS_renameat2: 0,
    // struct stat with 64-bit inodes (_DARWIN_FEATURE_64_BIT_INODE), 144 bytes.
    stat: {
      kind: "stat",
      fstat: arch === "x86_64" ? "fstat$INODE64" : "fstat",
      fstatat: arch === "x86_64" ? "fstatat$INODE64" : "fstatat",
      size: 144,
      dev: [0, 4], // dev_t (int32)
      mode: [4, 2], // mode_t (uint16)
      nlink: [6, 2], // nlink_t (uint16)
      ino: [8, 8], // ino_t (uint64)
      uid: [16, 4],
      fileSize: [96, 8], // off_t after four struct timespec
    },
  };
}

/** The table for `os`/`arch`; throws for a combination we have no table for. */
export function posixConstants(
  os: OperatingSystem,
  arch: Architecture,
): PosixConstants {
  if (os === "linux" && arch === "x86_64") return LINUX_X86_64;
  if (os === "linux" && arch === "aarch64") return LINUX_AARCH64;
  if (os === "darwin") return darwin(arch);
  throw new Error(`memshare has no POSIX constants for ${os}-${arch}`);
}

/** File type bits of `st_mode` (<sys/stat.h>, the same everywhere). */
export const S_IFMT = 0o170000;
/** Regular file. */
export const S_IFREG = 0o100000;
/** Directory. */
export const S_IFDIR = 0o040000;
/** Symbolic link. */
export const S_IFLNK = 0o120000;
