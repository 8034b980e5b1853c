/**
 * Which runtime runs the benchmark, and child processes of the same runtime
 * running another bench script.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The runtime running this script. */
export const RUNTIME: "deno" | "bun" =
  (globalThis as { Deno?: unknown }).Deno !== undefined ? "deno" : "bun";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** Absolute path of a script in bench/. */
export function benchScript(name: string): string {
  return join(ROOT, "bench", name);
}

/** Command line that runs `script args` under `runtime` (default: the current one, same binary). */
export function scriptCommand(
  script: string,
  args: string[],
  runtime: "deno" | "bun" = RUNTIME,
): [string, string[]] {
  const binary = runtime === RUNTIME
    ? process.execPath
    : join(ROOT, "node_modules", ".bin", runtime);
  return runtime === "deno"
    ? [binary, ["run", "--quiet", "--allow-all", script, ...args]]
    : [binary, [script, ...args]];
}

/**
 * Starts a bench script in a child process of this runtime (stdout ignored,
 * stderr shared) and resolves when it exits; rejects on a non-zero exit.
 */
export function runChild(script: string, args: string[]): Promise<void> {
  const [command, argv] = scriptCommand(benchScript(script), args);
  const child = spawn(command, argv, {
    stdio: ["ignore", "ignore", "inherit"],
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code === 0) resolve();
      else {
        reject(
          new Error(
            `${script} ${args.join(" ")} exited with ${code ?? signal}`,
          ),
        );
      }
    });
  });
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), "memshare-bench-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Writes a progress line to stderr. */
export function progress(message: string): void {
  process.stderr.write(`[${RUNTIME}] ${message}\n`);
}
