/**
 * File metadata over libc: `statx` where the OS has it (Linux), else
 * `fstatat`/`fstat`, decoded with the layout of the running OS and
 * architecture into a `FileStatus`.
 *
 * @module
 */

import type { Libc } from "./libc.ts";
import type { PosixErrors } from "./os_errors.ts";
import { cString } from "./c_string.ts";
import {
  type PosixConstants,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  STATX,
} from "./constants.ts";
import type {
  FileId,
  FileKind,
  FileStatus,
  Handle,
  Platform,
} from "../platform.ts";

/** Builds `statPath` and `statHandle` for the POSIX platform. */
export function posixStat(
  libc: Libc,
  c: PosixConstants,
  { E, error, fail }: PosixErrors,
): Pick<Platform, "statPath" | "statHandle"> {
  const statBuffer = new Uint8Array(c.stat.size);
  const statView = new DataView(statBuffer.buffer);
  const emptyPath = cString("");

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

  return { statPath, statHandle };
}
