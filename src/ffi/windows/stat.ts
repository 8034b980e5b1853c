/**
 * File metadata over kernel32: `GetFileInformationByHandle` (volume serial
 * and file index as the identity), decoded into a `FileStatus`, with the
 * permission bits Node reports, since Windows has none.
 *
 * @module
 */

import type { Kernel32 } from "./kernel32.ts";
import type { WindowsErrors } from "./errors.ts";
import {
  BY_HANDLE_FILE_INFORMATION as INFO,
  ERROR,
  FILE_ATTRIBUTE_DEVICE,
  FILE_ATTRIBUTE_DIRECTORY,
  FILE_ATTRIBUTE_READONLY,
  FILE_ATTRIBUTE_REPARSE_POINT,
  FILE_FLAG_BACKUP_SEMANTICS,
  FILE_FLAG_OPEN_REPARSE_POINT,
  FILE_READ_ATTRIBUTES,
  FILE_SHARE_ALL,
  FILE_TYPE_DISK,
  FILE_TYPE_UNKNOWN,
  OPEN_EXISTING,
} from "./constants.ts";
import type { FileKind, FileStatus, Handle, Platform } from "../platform.ts";
import { wide } from "./utf16.ts";

/** Metadata of something that is not a file on a disk (a pipe, a console, `NUL`). */
const NOT_ON_DISK: FileStatus = Object.freeze({
  id: Object.freeze([0, 0, 0, 0] as const),
  kind: "other",
  mode: 0,
  links: 1,
  uid: -1,
  size: 0,
});

/** Builds `statPath` and `statHandle` for the Windows platform. */
export function windowsStat(
  k: Kernel32,
  { error, fail }: WindowsErrors,
): Pick<Platform, "statPath" | "statHandle"> {
  const info = new Uint8Array(INFO.size);
  const infoView = new DataView(info.buffer);

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

  return { statPath, statHandle };
}
