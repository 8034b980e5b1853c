/**
 * The kernel32 binding: C signatures of the functions the Windows platform
 * calls, bound through the runtime adapter, plus `GetLastError`.
 *
 * HANDLEs are bound as `usize` so that they arrive as plain numbers (a
 * `pointer` result would be an object in Deno); the wrappers below turn the
 * number-or-bigint a 64-bit result may be into a `number`, with
 * `INVALID_HANDLE_VALUE` as -1 and NULL as 0. Kernel handles carry only 32
 * significant bits (so that 32- and 64-bit processes can share them), so a
 * `number` holds them exactly.
 *
 * `GetLastError` must be called straight after the failing call, on the same
 * thread: the runtimes make no Windows call in between on the synchronous path.
 *
 * @module
 */

import {
  type ForeignInterface,
  type NativeFunction,
  type Pointer,
  runtime,
} from "../runtime/runtime.ts";
import { INVALID_HANDLE_VALUE } from "./constants.ts";

/** The kernel32 functions we call, as JavaScript sees them (BOOL results are 0 or 1). */
export interface Kernel32 {
  /** Returns the handle, or -1 (INVALID_HANDLE_VALUE) on failure. */
  CreateFileW(
    path: Uint8Array,
    access: number,
    share: number,
    security: null,
    disposition: number,
    flags: number,
    template: number,
  ): number;
  CloseHandle(handle: number): number;
  GetLastError(): number;
  GetFileType(handle: number): number;
  GetFileAttributesW(path: Uint8Array): number;
  GetFileInformationByHandle(handle: number, info: Uint8Array): number;
  SetFileInformationByHandle(
    handle: number,
    infoClass: number,
    info: Uint8Array,
    size: number,
  ): number;
  ReadFile(
    handle: number,
    into: Uint8Array,
    count: number,
    read: Uint8Array,
    overlapped: Uint8Array,
  ): number;
  LockFileEx(
    handle: number,
    flags: number,
    reserved: number,
    lengthLow: number,
    lengthHigh: number,
    overlapped: Uint8Array,
  ): number;
  UnlockFileEx(
    handle: number,
    reserved: number,
    lengthLow: number,
    lengthHigh: number,
    overlapped: Uint8Array,
  ): number;
  GetOverlappedResult(
    handle: number,
    overlapped: Uint8Array,
    transferred: Uint8Array,
    wait: number,
  ): number;
  /** Returns the section handle, or 0 (NULL) on failure. */
  CreateFileMappingW(
    file: number,
    security: null,
    protect: number,
    sizeHigh: number,
    sizeLow: number,
    name: null,
  ): number;
  MapViewOfFile(
    section: number,
    access: number,
    offsetHigh: number,
    offsetLow: number,
    length: number,
  ): Pointer;
  UnmapViewOfFile(base: Pointer): number;
  FlushViewOfFile(base: Pointer, length: number): number;
  FlushFileBuffers(handle: number): number;
  CreateDirectoryW(path: Uint8Array, security: null): number;
  GetCurrentProcessId(): number;
  GetCurrentDirectoryW(size: number, buffer: Uint8Array): number;
  GetEnvironmentVariableW(
    name: Uint8Array,
    buffer: Uint8Array,
    size: number,
  ): number;
  GetTempPathW(size: number, buffer: Uint8Array): number;
  /** Returns the process handle, or 0 (NULL) on failure. */
  OpenProcess(access: number, inherit: number, pid: number): number;
  WaitForSingleObject(handle: number, ms: number): number;
  /**
   * Returns the event handle, or 0 (NULL) on failure. `name` is the address
   * of a NUL-terminated UTF-16 name (kept referenced during the call), or 0
   * for an unnamed event.
   */
  CreateEventW(
    security: null,
    manualReset: number,
    initialState: number,
    name: number,
  ): number;
  /** Returns the event handle, or 0 (NULL) when there is no such event. */
  OpenEventW(access: number, inherit: number, name: Uint8Array): number;
  SetEvent(handle: number): number;
  ResetEvent(handle: number): number;
  CancelIoEx(handle: number, overlapped: Uint8Array): number;
  FormatMessageW(
    flags: number,
    source: null,
    id: number,
    language: number,
    buffer: Uint8Array,
    size: number,
    args: null,
  ): number;
}

/** Signatures (x64 and ARM64: HANDLE and SIZE_T are 64-bit, DWORD and BOOL 32-bit). */
const SYMBOLS: ForeignInterface = {
  CreateFileW: {
    parameters: ["buffer", "u32", "u32", "pointer", "u32", "u32", "usize"],
    result: "usize",
  },
  CloseHandle: { parameters: ["usize"], result: "i32" },
  GetLastError: { parameters: [], result: "u32" },
  GetFileType: { parameters: ["usize"], result: "u32" },
  GetFileAttributesW: { parameters: ["buffer"], result: "u32" },
  GetFileInformationByHandle: {
    parameters: ["usize", "buffer"],
    result: "i32",
  },
  SetFileInformationByHandle: {
    parameters: ["usize", "i32", "buffer", "u32"],
    result: "i32",
  },
  ReadFile: {
    parameters: ["usize", "buffer", "u32", "buffer", "buffer"],
    result: "i32",
  },
  LockFileEx: {
    parameters: ["usize", "u32", "u32", "u32", "u32", "buffer"],
    result: "i32",
  },
  UnlockFileEx: {
    parameters: ["usize", "u32", "u32", "u32", "buffer"],
    result: "i32",
  },
  GetOverlappedResult: {
    parameters: ["usize", "buffer", "buffer", "i32"],
    result: "i32",
  },
  CreateFileMappingW: {
    parameters: ["usize", "pointer", "u32", "u32", "u32", "pointer"],
    result: "usize",
  },
  MapViewOfFile: {
    parameters: ["usize", "u32", "u32", "u32", "usize"],
    result: "pointer",
  },
  UnmapViewOfFile: { parameters: ["pointer"], result: "i32" },
  FlushViewOfFile: { parameters: ["pointer", "usize"], result: "i32" },
  FlushFileBuffers: { parameters: ["usize"], result: "i32" },
  CreateDirectoryW: { parameters: ["buffer", "pointer"], result: "i32" },
  GetCurrentProcessId: { parameters: [], result: "u32" },
  GetCurrentDirectoryW: { parameters: ["u32", "buffer"], result: "u32" },
  GetEnvironmentVariableW: {
    parameters: ["buffer", "buffer", "u32"],
    result: "u32",
  },
  GetTempPathW: { parameters: ["u32", "buffer"], result: "u32" },
  OpenProcess: { parameters: ["u32", "i32", "u32"], result: "usize" },
  WaitForSingleObject: { parameters: ["usize", "u32"], result: "u32" },
  CreateEventW: {
    parameters: ["pointer", "i32", "i32", "usize"],
    result: "usize",
  },
  OpenEventW: { parameters: ["u32", "i32", "buffer"], result: "usize" },
  SetEvent: { parameters: ["usize"], result: "i32" },
  ResetEvent: { parameters: ["usize"], result: "i32" },
  CancelIoEx: { parameters: ["usize", "buffer"], result: "i32" },
  FormatMessageW: {
    parameters: ["u32", "pointer", "u32", "u32", "buffer", "u32", "pointer"],
    result: "u32",
  },
};

/** A HANDLE result as a number: -1 for INVALID_HANDLE_VALUE, 0 for NULL. */
function handleValue(value: unknown): number {
  // A runtime that gave 2^64-1 as a (rounded) number still means INVALID.
  if (typeof value === "number") return value >= 2 ** 63 ? -1 : value;
  if (typeof value === "bigint") {
    return value === INVALID_HANDLE_VALUE ? -1 : Number(value);
  }
  throw new TypeError(`unexpected HANDLE value from FFI: ${String(value)}`);
}

/** Opens kernel32.dll and binds the functions. */
export function openKernel32(): Kernel32 {
  const fns = runtime.open("kernel32.dll", SYMBOLS);
  const handleResult = (fn: NativeFunction) => (...args: unknown[]): number =>
    handleValue((fn as (...a: unknown[]) => unknown)(...args));
  return {
    ...fns,
    CreateFileW: handleResult(fns.CreateFileW),
    CreateFileMappingW: handleResult(fns.CreateFileMappingW),
    OpenProcess: handleResult(fns.OpenProcess),
    CreateEventW: handleResult(fns.CreateEventW),
    OpenEventW: handleResult(fns.OpenEventW),
  } as unknown as Kernel32;
}
