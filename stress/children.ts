/**
 * The driver's child processes: spawned in their own process group (so a
 * Ctrl-C reaches only the driver, which then kills them all), stdout read
 * line by line, the end of stderr kept for error reports, and every live
 * one known so none outlives the driver.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";

/** How a child ended. */
export interface Exit {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, or null. */
  signal: string | null;
}

/** A running child. */
export interface Proc {
  /** Its pid. */
  readonly pid: number;
  /** Settles when it has exited and its output is read. */
  readonly exited: Promise<Exit>;
  /** Whether it has not exited yet. */
  readonly alive: boolean;
  /** The last few KiB of its stderr. */
  stderr(): string;
  /** Sends `signal` (default SIGKILL) if it still runs. */
  kill(signal?: "SIGKILL" | "SIGTERM"): void;
}

const STDERR_KEPT = 4096;
const live = new Set<ChildProcess>();

/** Starts `command args`; `onLine` gets each stdout line. */
export function spawnProc(
  command: string,
  args: readonly string[],
  onLine: (line: string) => void,
): Proc {
  const child = spawn(command, args, {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, NO_COLOR: "1" },
  });
  live.add(child);
  let pending = "";
  let errors = "";
  let alive = true;
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    pending += chunk;
    for (let at = pending.indexOf("\n"); at >= 0; at = pending.indexOf("\n")) {
      onLine(pending.slice(0, at));
      pending = pending.slice(at + 1);
    }
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    errors = (errors + chunk).slice(-STDERR_KEPT);
  });
  const exited = new Promise<Exit>((resolve) => {
    child.on("close", (code, signal) => {
      live.delete(child);
      alive = false;
      if (pending !== "") onLine(pending);
      resolve({ code, signal });
    });
    child.on("error", (error) => {
      live.delete(child);
      alive = false;
      errors += String(error);
      resolve({ code: -1, signal: null });
    });
  });
  return {
    pid: child.pid ?? -1,
    exited,
    get alive() {
      return alive;
    },
    stderr: () => errors,
    kill(signal = "SIGKILL") {
      if (alive) child.kill(signal);
    },
  };
}

/** SIGKILLs every child still running (synchronous: usable in an exit handler). */
export function killAll(): void {
  for (const child of live) child.kill("SIGKILL");
}
