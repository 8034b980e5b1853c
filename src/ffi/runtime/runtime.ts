/**
 * The runtime adapter: the one place that knows whether we run on Deno
 * (`Deno.dlopen`) or Bun (`bun:ffi`), and on which OS and CPU.
 *
 * Everything above it sees one small FFI surface: open a library with a
 * symbol table, turn a native pointer into a zero-copy `ArrayBuffer`, read a C
 * string, and compare pointers by address.
 *
 * @module
 */

import { denoRuntime } from "./deno.ts";
import { bunRuntime } from "./bun.ts";

/** A native pointer as the runtime represents it (Deno: object or null; Bun: number). */
export type Pointer = unknown;

/** The C types our bindings use, named as Deno names them. */
export type NativeType =
  | "i32"
  | "u32"
  | "i64"
  | "u64"
  | "isize"
  | "usize"
  | "f64"
  | "pointer"
  | "buffer"
  | "void";

/** One foreign function: its C signature. */
export interface ForeignFunction {
  /** Argument types, in order. */
  readonly parameters: readonly NativeType[];
  /** Return type. */
  readonly result: NativeType;
  /** Deno only: run on a pool thread and return a promise (Bun has no async FFI). */
  readonly nonblocking?: boolean;
}

/** A symbol table: function name to signature. */
export type ForeignInterface = Readonly<Record<string, ForeignFunction>>;

/** A bound foreign function as JavaScript sees it. */
export type NativeFunction = (...args: never[]) => unknown;

/** Operating systems the bindings know. */
export type OperatingSystem = "linux" | "darwin" | "windows";

/** CPU architectures the bindings know. */
export type Architecture = "x86_64" | "aarch64";

/** What the bindings need from the JavaScript runtime. */
export interface Runtime {
  /** Which runtime this is. */
  readonly name: "deno" | "bun";
  /** The operating system. */
  readonly os: OperatingSystem;
  /** The CPU architecture. */
  readonly arch: Architecture;
  /**
   * Whether this realm is the process's main thread, not a Worker: only
   * the main thread may block in a call that nothing can interrupt — a
   * terminated Worker would otherwise be left blocked, and then holding.
   */
  readonly mainThread: boolean;
  /**
   * Opens a shared library and binds `symbols`; throws if one is missing.
   * The result maps each name to a callable function.
   */
  open(
    library: string,
    symbols: ForeignInterface,
  ): Record<string, NativeFunction>;
  /** A zero-copy `ArrayBuffer` over `length` bytes at `pointer + offset`. */
  arrayBuffer(pointer: Pointer, offset: number, length: number): ArrayBuffer;
  /** Reads the NUL-terminated UTF-8 string at `pointer` ("" for null). */
  cString(pointer: Pointer): string;
  /** The numeric address of `pointer` (0n for null). */
  address(pointer: Pointer): bigint;
  /** The address of a typed array's first byte (it must stay referenced while native code uses it). */
  addressOf(view: ArrayBufferView): number;
}

/** The runtime this module is loaded in. */
export const runtime: Runtime = denoRuntime() ?? (await bunRuntime()) ??
  unsupported();

function unsupported(): never {
  throw new Error(
    "memshare needs Deno (with --allow-ffi) or Bun: no FFI was found in this runtime",
  );
}
