/**
 * The Bun side of the runtime adapter: `bun:ffi`.
 *
 * `bun:ffi` is imported by a computed specifier so that Deno's type checker
 * and module graph never try to resolve it; its shape is described locally.
 *
 * @module
 */

import type {
  Architecture,
  ForeignInterface,
  NativeFunction,
  NativeType,
  OperatingSystem,
  Runtime,
} from "./runtime.ts";

interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: Record<string, NativeFunction> };
  toArrayBuffer(pointer: number, offset: number, length: number): ArrayBuffer;
  CString: new (pointer: number) => { toString(): string };
  ptr(view: ArrayBufferView): number;
}

/** Bun's names for our native types. */
const BUN_TYPES: Record<NativeType, string> = {
  i32: "i32",
  u32: "u32",
  i64: "i64",
  u64: "u64",
  isize: "i64",
  usize: "usize",
  f64: "f64",
  pointer: "ptr",
  buffer: "buffer",
  void: "void",
};

const OS: Record<string, OperatingSystem> = {
  linux: "linux",
  darwin: "darwin",
  win32: "windows",
};
const ARCH: Record<string, Architecture> = { x64: "x86_64", arm64: "aarch64" };

/** The Bun runtime, or `undefined` when not running on Bun. */
export async function bunRuntime(): Promise<Runtime | undefined> {
  if ((globalThis as { Bun?: unknown }).Bun === undefined) return undefined;
  const specifier = "bun:ffi";
  const ffi = (await import(specifier)) as BunFfi;
  const { platform, arch } = (globalThis as unknown as {
    process: { platform: string; arch: string };
  }).process;
  return {
    name: "bun",
    os: OS[platform] ?? (platform as OperatingSystem),
    arch: ARCH[arch] ?? (arch as Architecture),
    mainThread: (globalThis as unknown as { Bun: { isMainThread: boolean } })
      .Bun.isMainThread,
    open(library: string, symbols: ForeignInterface) {
      const table: Record<string, { args: string[]; returns: string }> = {};
      for (const [name, fn] of Object.entries(symbols)) {
        table[name] = {
          args: fn.parameters.map((t) => BUN_TYPES[t]),
          returns: BUN_TYPES[fn.result],
        };
      }
      return ffi.dlopen(library, table).symbols;
    },
    arrayBuffer: (pointer, offset, length) =>
      ffi.toArrayBuffer(pointer as number, offset, length),
    cString: (pointer) =>
      pointer === null || pointer === 0
        ? ""
        : new ffi.CString(pointer as number).toString(),
    address: (pointer) =>
      pointer === null ? 0n : BigInt(pointer as number | bigint),
    addressOf: (view) => ffi.ptr(view),
  };
}
