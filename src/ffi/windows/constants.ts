/**
 * Windows constants and structure layouts for the kernel32 binding, each
 * with the SDK header it comes from. One table serves x64 and ARM64: Windows
 * is LLP64 on both, so every layout here is the same.
 *
 * Access masks with the top bit set are written as literals, never as `a | b`:
 * JavaScript's `|` makes them negative int32, which a `u32` argument refuses.
 *
 * @module
 */

/** `GENERIC_READ | GENERIC_WRITE` (winnt.h: 0x80000000 | 0x40000000). */
export const GENERIC_READ_WRITE = 0xc000_0000;
/** `GENERIC_READ` (winnt.h): enough to lock a byte range of a file. */
export const GENERIC_READ = 0x8000_0000;
/** `EVENT_MODIFY_STATE` (synchapi.h): enough to set an event. */
export const EVENT_MODIFY_STATE = 0x2;
/** `FILE_READ_ATTRIBUTES` (winnt.h): enough to read metadata of anything. */
export const FILE_READ_ATTRIBUTES = 0x80;
/** `SYNCHRONIZE` (winnt.h): wait on a process handle. */
export const SYNCHRONIZE = 0x0010_0000;
/** `PROCESS_QUERY_LIMITED_INFORMATION` (winnt.h). */
export const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;

/**
 * `FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE` (winnt.h: 1|2|4):
 * other processes may open, and tools may delete or rename, the files while
 * we hold them open — as on POSIX.
 */
export const FILE_SHARE_ALL = 0x7;

/** `CREATE_NEW` (fileapi.h, formerly winbase.h): fails if the name exists. */
export const CREATE_NEW = 1;
/** `OPEN_EXISTING` (fileapi.h, formerly winbase.h). */
export const OPEN_EXISTING = 3;

/** `FILE_ATTRIBUTE_READONLY` (winnt.h). */
export const FILE_ATTRIBUTE_READONLY = 0x1;
/** `FILE_ATTRIBUTE_DIRECTORY` (winnt.h). */
export const FILE_ATTRIBUTE_DIRECTORY = 0x10;
/** `FILE_ATTRIBUTE_DEVICE` (winnt.h). */
export const FILE_ATTRIBUTE_DEVICE = 0x40;
/** `FILE_ATTRIBUTE_NORMAL` (winnt.h). */
export const FILE_ATTRIBUTE_NORMAL = 0x80;
/** `FILE_ATTRIBUTE_REPARSE_POINT` (winnt.h): symlink, junction, mount point, … */
export const FILE_ATTRIBUTE_REPARSE_POINT = 0x400;
/** `INVALID_FILE_ATTRIBUTES` (fileapi.h): GetFileAttributesW failed. */
export const INVALID_FILE_ATTRIBUTES = 0xffff_ffff;

/** `FILE_FLAG_BACKUP_SEMANTICS` (winbase.h): needed to open a directory. */
export const FILE_FLAG_BACKUP_SEMANTICS = 0x0200_0000;
/** `FILE_FLAG_OPEN_REPARSE_POINT` (winbase.h): open a link itself, like `O_NOFOLLOW`. */
export const FILE_FLAG_OPEN_REPARSE_POINT = 0x0020_0000;
/** `FILE_FLAG_OVERLAPPED` (winbase.h): calls on the handle may pend and complete later. */
export const FILE_FLAG_OVERLAPPED = 0x4000_0000;

/** `FILE_TYPE_DISK` (fileapi.h, formerly winbase.h): GetFileType of a file or directory. */
export const FILE_TYPE_DISK = 1;
/** `FILE_TYPE_UNKNOWN` (fileapi.h): GetFileType failed, or an unknown type. */
export const FILE_TYPE_UNKNOWN = 0;

/** `LOCKFILE_FAIL_IMMEDIATELY` (minwinbase.h, formerly winbase.h). */
export const LOCKFILE_FAIL_IMMEDIATELY = 0x1;
/** `LOCKFILE_EXCLUSIVE_LOCK` (minwinbase.h, formerly winbase.h). */
export const LOCKFILE_EXCLUSIVE_LOCK = 0x2;

/** `PAGE_READWRITE` (winnt.h). */
export const PAGE_READWRITE = 0x4;
/** `FILE_MAP_WRITE | FILE_MAP_READ` (memoryapi.h: SECTION_MAP_WRITE 2 | SECTION_MAP_READ 4 of winnt.h). */
export const FILE_MAP_READ_WRITE = 0x6;

/** `FileEndOfFileInfo` of `FILE_INFO_BY_HANDLE_CLASS` (minwinbase.h). */
export const FILE_END_OF_FILE_INFO = 6;

/** `WAIT_TIMEOUT` (winerror.h): the object is not signalled (a process still runs). */
export const WAIT_TIMEOUT = 258;
/** `WAIT_FAILED` (synchapi.h): the wait itself failed. */
export const WAIT_FAILED = 0xffff_ffff;
/** `MAXIMUM_WAIT_OBJECTS` (winnt.h): most handles one WaitForMultipleObjects takes. */
export const MAXIMUM_WAIT_OBJECTS = 64;
/** Longest finite wait in ms: `INFINITE` (winbase.h) is 0xffffffff. */
export const LONGEST_WAIT_MS = 0xffff_fffe;

/** `STATUS_PENDING` (ntstatus.h): `OVERLAPPED.Internal` of a request not yet complete. */
export const STATUS_PENDING = 0x103;
/** `STATUS_SUCCESS` (ntstatus.h): `OVERLAPPED.Internal` of a request that succeeded. */
export const STATUS_SUCCESS = 0;

/** `FORMAT_MESSAGE_IGNORE_INSERTS | FORMAT_MESSAGE_FROM_SYSTEM` (winbase.h: 0x200 | 0x1000). */
export const FORMAT_MESSAGE_SYSTEM = 0x1200;

/** `INVALID_HANDLE_VALUE` (handleapi.h): `(HANDLE)-1`, as an unsigned 64-bit value. */
export const INVALID_HANDLE_VALUE = 0xffff_ffff_ffff_ffffn;

/** `OVERLAPPED` (minwinbase.h) on 64-bit Windows: 32 bytes. */
export const OVERLAPPED = {
  size: 32,
  internal: 0, // ULONG_PTR Internal: the NTSTATUS of the request (low 32 bits)
  offset: 16, // DWORD Offset, after ULONG_PTR Internal and InternalHigh
  offsetHigh: 20, // DWORD OffsetHigh
  hEvent: 24, // HANDLE hEvent
} as const;

/** `BY_HANDLE_FILE_INFORMATION` (fileapi.h): 52 bytes, every field 32-bit aligned. */
export const BY_HANDLE_FILE_INFORMATION = {
  size: 52,
  attributes: 0, // DWORD dwFileAttributes, then three FILETIMEs (8 bytes each)
  volumeSerial: 28, // DWORD dwVolumeSerialNumber
  sizeHigh: 32, // DWORD nFileSizeHigh
  sizeLow: 36, // DWORD nFileSizeLow
  links: 40, // DWORD nNumberOfLinks
  indexHigh: 44, // DWORD nFileIndexHigh
  indexLow: 48, // DWORD nFileIndexLow
} as const;

/** Windows error codes memshare tests for (winerror.h). */
export const ERROR = {
  SUCCESS: 0,
  FILE_NOT_FOUND: 2,
  PATH_NOT_FOUND: 3,
  ACCESS_DENIED: 5,
  LOCK_VIOLATION: 33,
  HANDLE_EOF: 38,
  FILE_EXISTS: 80,
  INVALID_PARAMETER: 87,
  ALREADY_EXISTS: 183,
  ENVVAR_NOT_FOUND: 203,
  OPERATION_ABORTED: 995,
  IO_PENDING: 997,
  NOT_FOUND: 1168,
} as const;

/**
 * Names of the Windows errors a lock or data file can meet (winerror.h),
 * for `OsError.code`. The two "not found" errors are named `ENOENT`, the
 * code `src/lock` checks for a missing file on every OS.
 */
export const ERROR_NAMES: Readonly<Record<number, string>> = {
  0: "ERROR_SUCCESS",
  1: "ERROR_INVALID_FUNCTION",
  2: "ENOENT", // ERROR_FILE_NOT_FOUND
  3: "ENOENT", // ERROR_PATH_NOT_FOUND
  4: "ERROR_TOO_MANY_OPEN_FILES",
  5: "ERROR_ACCESS_DENIED",
  6: "ERROR_INVALID_HANDLE",
  8: "ERROR_NOT_ENOUGH_MEMORY",
  14: "ERROR_OUTOFMEMORY",
  15: "ERROR_INVALID_DRIVE",
  19: "ERROR_WRITE_PROTECT",
  21: "ERROR_NOT_READY",
  32: "ERROR_SHARING_VIOLATION",
  33: "ERROR_LOCK_VIOLATION",
  38: "ERROR_HANDLE_EOF",
  39: "ERROR_HANDLE_DISK_FULL",
  50: "ERROR_NOT_SUPPORTED",
  53: "ERROR_BAD_NETPATH",
  67: "ERROR_BAD_NET_NAME",
  80: "ERROR_FILE_EXISTS",
  87: "ERROR_INVALID_PARAMETER",
  112: "ERROR_DISK_FULL",
  122: "ERROR_INSUFFICIENT_BUFFER",
  123: "ERROR_INVALID_NAME",
  158: "ERROR_NOT_LOCKED",
  161: "ERROR_BAD_PATHNAME",
  167: "ERROR_LOCK_FAILED",
  183: "ERROR_ALREADY_EXISTS",
  203: "ERROR_ENVVAR_NOT_FOUND",
  206: "ERROR_FILENAME_EXCED_RANGE",
  267: "ERROR_DIRECTORY",
  303: "ERROR_DELETE_PENDING",
  995: "ERROR_OPERATION_ABORTED",
  997: "ERROR_IO_PENDING",
  1168: "ERROR_NOT_FOUND",
  1224: "ERROR_USER_MAPPED_FILE",
  1314: "ERROR_PRIVILEGE_NOT_HELD",
  1816: "ERROR_NOT_ENOUGH_QUOTA",
  1920: "ERROR_CANT_ACCESS_FILE",
  1921: "ERROR_CANT_RESOLVE_FILENAME",
};
