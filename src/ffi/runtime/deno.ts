/**
 * The Deno side of the runtime adapter: `Deno.dlopen` and
 * `Deno.UnsafePointerView`.
 *
 * The Deno namespace is described locally (only what we call), so this file
 * type-checks under Bun's tooling too.
 *
 * @module
 */

import type {
  Architecture,
  ForeignInterface,
  NativeFunction,
  OperatingSystem,
  Pointer,
  Runtime,
} from "./runtime.ts";

interface DenoFfi {
  build: { os: string; arch: string };
  dlopen(
    path: string,
    symbols: ForeignInterface,
  ): { symbols: Record<string, NativeFunction> };
  UnsafePointerView: {
    getArrayBuffer(
      pointer: Pointer,
      length: number,
      offset?: number,
    ): ArrayBuffer;
    getCString(pointer: Pointer): string;
  };
  UnsafePointer: {
    value(pointer: Pointer): number | bigint;
    of(view: ArrayBufferView): Pointer;
  };
}

/** The Deno runtime, or `undefined` when not running on Deno. */
export function denoRuntime(): Runtime | undefined {
  const deno = (globalThis as { Deno?: DenoFfi }).Deno;
  if (deno === undefined || typeof deno.dlopen !== "function") return undefined;
  const view = deno.UnsafePointerView;
  return {
    name: "deno",
    os: deno.build.os as OperatingSystem,
    arch: deno.build.arch as Architecture,
    // Deno's main realm has no WorkerGlobalScope.
    mainThread:
      (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope ===
        undefined,
    open: (library, symbols) => deno.dlopen(library, symbols).symbols,
    arrayBuffer: (pointer, offset, length) =>
      view.getArrayBuffer(pointer, length, offset),
    cString: (pointer) => pointer === null ? "" : view.getCString(pointer),
    address: (pointer) =>
      pointer === null ? 0n : BigInt(deno.UnsafePointer.value(pointer)),
    addressOf: (view) =>
      Number(deno.UnsafePointer.value(deno.UnsafePointer.of(view))),
  };
}
