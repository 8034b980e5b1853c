/**
 * A throwaway Xvfb for the desktop test (not a test file itself): started
 * on the first free display number from :99 up, waited for until a client
 * can connect (and its lock file names it: not another test's server that
 * took the number at the same moment), stopped (and waited for) at the end.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { XDisplay } from "../examples/x11/xlib.ts";
import { sleep } from "./helpers.ts";

/** A running Xvfb. */
export interface Xvfb {
  /** Its display name, e.g. `:99`. */
  readonly display: string;
  /** The server process. */
  readonly process: ChildProcess;
  /** Stops it and waits until it has exited. */
  stop(): Promise<void>;
}

/** How long one server may take to accept a connection. */
const UP_MS = 15_000;

/**
 * Starts `Xvfb :N` on the first N from 99 whose lock file and socket are
 * absent (trying the next one if that server exits, e.g. because another
 * started there first), with a `width`x`height` screen, and resolves once
 * a client can open it.
 */
export async function startXvfb(
  width = 800,
  height = 600,
): Promise<Xvfb> {
  for (let n = 99; n < 160; n++) {
    if (existsSync(`/tmp/.X${n}-lock`) || existsSync(`/tmp/.X11-unix/X${n}`)) {
      continue;
    }
    const display = `:${n}`;
    const child = spawn("Xvfb", [
      display,
      "-screen",
      "0",
      `${width}x${height}x24`,
      "-nolisten",
      "tcp",
      // No reset when the last client leaves: the pointer stays put.
      "-noreset",
    ], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exited = new Promise<void>((resolve) => {
      child.on("close", () => resolve());
      child.on("error", (error) => { // no Xvfb: reported below, as an exit
        stderr += error.message;
        resolve();
      });
    });
    let gone = false;
    exited.then(() => (gone = true));
    const stop = async () => {
      if (!gone) child.kill("SIGTERM");
      const late = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(late);
    };
    const deadline = Date.now() + UP_MS;
    while (!gone && Date.now() < deadline) {
      try {
        new XDisplay(display).close();
        // Ours, not one another test started there at the same moment?
        if (ownerOf(n) === child.pid) return { display, process: child, stop };
      } catch {
        // not up yet
      }
      await sleep(50);
    }
    if (!gone) {
      await stop();
      throw new Error(
        `Xvfb ${display} did not come up in ${UP_MS} ms: ${stderr}`,
      );
    }
    await exited;
    if (!/already active|Cannot establish any listening/.test(stderr)) {
      throw new Error(
        `Xvfb ${display} exited ${child.exitCode} (is xvfb installed? scripts/test-setup.sh installs it): ${stderr}`,
      );
    }
  }
  throw new Error("no free X display number from :99 to :159");
}

/** The pid in display `n`'s lock file (the server that owns it), or `undefined`. */
function ownerOf(n: number): number | undefined {
  try {
    return Number(readFileSync(`/tmp/.X${n}-lock`, "utf8").trim());
  } catch {
    return undefined;
  }
}
