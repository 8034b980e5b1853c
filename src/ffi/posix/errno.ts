/**
 * errno names per OS, so errors say `ELOOP` rather than `40` (Linux) or
 * `62` (macOS). Linux: include/uapi/asm-generic/errno-base.h and errno.h
 * (the same on x86_64 and aarch64); macOS: <sys/errno.h>.
 *
 * @module
 */

import type { OperatingSystem } from "../runtime/runtime.ts";

const LINUX: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  16: "EBUSY",
  17: "EEXIST",
  18: "EXDEV",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  26: "ETXTBSY",
  27: "EFBIG",
  28: "ENOSPC",
  29: "ESPIPE",
  30: "EROFS",
  31: "EMLINK",
  36: "ENAMETOOLONG",
  37: "ENOLCK",
  38: "ENOSYS",
  40: "ELOOP",
  95: "EOPNOTSUPP",
  110: "ETIMEDOUT",
  122: "EDQUOT",
};

const DARWIN: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  9: "EBADF",
  12: "ENOMEM",
  13: "EACCES",
  16: "EBUSY",
  17: "EEXIST",
  18: "EXDEV",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  26: "ETXTBSY",
  27: "EFBIG",
  28: "ENOSPC",
  29: "ESPIPE",
  30: "EROFS",
  31: "EMLINK",
  35: "EAGAIN",
  45: "ENOTSUP",
  60: "ETIMEDOUT",
  62: "ELOOP",
  63: "ENAMETOOLONG",
  69: "EDQUOT",
  77: "ENOLCK",
  78: "ENOSYS",
  102: "EOPNOTSUPP",
};

/** errno number → name for `os` (e.g. 40 → "ELOOP" on Linux). */
export function errnoNames(os: OperatingSystem): Record<number, string> {
  return os === "darwin" ? DARWIN : LINUX;
}
