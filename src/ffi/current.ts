/**
 * Picks the platform implementation for the running OS, once, on first use
 * (so that importing the module never touches FFI).
 *
 * @module
 */

import type { Platform } from "./platform.ts";
import { posixPlatform } from "./posix/platform.ts";
import { runtime } from "./runtime/runtime.ts";
import { windowsPlatform } from "./windows/platform.ts";

let current: Platform | undefined;

/** The platform for this OS and runtime, created on first call. */
export function currentPlatform(): Platform {
  if (current !== undefined) return current;
  try {
    current = runtime.os === "windows" ? windowsPlatform() : posixPlatform();
  } catch (cause) {
    const denied = cause instanceof Error &&
      (cause.name === "NotCapable" || cause.name === "PermissionDenied");
    throw new Error(
      denied
        ? "memshare needs FFI: run Deno with --allow-ffi"
        : `memshare cannot use the OS on ${runtime.os}-${runtime.arch}: ${
          cause instanceof Error ? cause.message : cause
        }`,
      { cause },
    );
  }
  return current;
}
