/**
 * Failed kernel32 calls as `OsError`s: the error code by name
 * (`ERROR_SHARING_VIOLATION`, or a POSIX name where one says more) and the
 * system's own message for it.
 *
 * @module
 */

import type { Kernel32 } from "./kernel32.ts";
import { ERROR_NAMES, FORMAT_MESSAGE_SYSTEM } from "./constants.ts";
import { OsError } from "../platform.ts";
import { readWide, wideBuffer } from "./utf16.ts";

/**
 * Builds the `OsError` for error `code`, which `syscall` (on `path`) failed
 * with; `name` overrides the code's own name.
 */
export type MakeError = (
  syscall: string,
  code: number,
  path?: string,
  name?: string,
) => OsError;

/** Throws the `OsError` for the last error a just-failed `syscall` left. */
export type Fail = (syscall: string, path?: string) => never;

/** What the platform's parts use to report errors. */
export interface WindowsErrors {
  /** See `MakeError`. */
  readonly error: MakeError;
  /** See `Fail`. */
  readonly fail: Fail;
}

/** The errors of kernel32 calls, with FormatMessageW's text. */
export function windowsErrors(k: Kernel32): WindowsErrors {
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
  return { error, fail };
}
