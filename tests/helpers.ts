/**
 * Test helpers shared by the test files (not a test file itself): which
 * runtime runs us, where the runtimes are, temporary directories, and
 * child processes of either runtime.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** The runtime running this test: "deno" or "bun". */
export const RUNTIME: "deno" | "bun" =
  (globalThis as { Deno?: unknown }).Deno !== undefined ? "deno" : "bun";

/**
 * Whether children run other builds of the runtimes (`$MEMSHARE_DENO` /
 * `$MEMSHARE_BUN`: the arm64 run's emulated ones), which start many times
 * slower: waits for them to come up get more time.
 */
export const EMULATED = Boolean(
  process.env.MEMSHARE_DENO || process.env.MEMSHARE_BUN,
);

/** How long a child may take to start and say it is ready. */
export const READY_MS = EMULATED ? 150_000 : 30_000;

/**
 * Path of a runtime's binary: `$MEMSHARE_DENO` / `$MEMSHARE_BUN` when set
 * (the arm64 run points them at the emulated aarch64 builds, so children
 * run the same architecture), else the one `npm ci` installed.
 */
export function runtimeBinary(runtime: "deno" | "bun"): string {
  const variable = runtime === "deno" ? "MEMSHARE_DENO" : "MEMSHARE_BUN";
  const override = process.env[variable];
  // A missing binary would only show as children that never come up.
  if (override && !existsSync(override)) {
    throw new Error(`$${variable} names ${override}, which does not exist`);
  }
  return override || join(ROOT, "node_modules", ".bin", runtime);
}

/** Path of a fixture script. */
export function fixture(name: string): string {
  return join(ROOT, "tests", "fixtures", name);
}

/** A fresh temporary directory (mode 0700), removed by the returned function. */
export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), "memshare-test-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Command line that runs `script` under `runtime`. Deno gets only
 * `--allow-ffi` (plus `extraDenoFlags`): the library must need nothing else.
 */
export function runtimeCommand(
  runtime: "deno" | "bun",
  script: string,
  args: string[] = [],
  extraDenoFlags: string[] = [],
): [string, string[]] {
  return runtime === "deno"
    ? [runtimeBinary("deno"), [
      "run",
      "--quiet",
      "--no-check",
      "--no-prompt",
      "--allow-ffi",
      ...extraDenoFlags,
      script,
      ...args,
    ]]
    : [runtimeBinary("bun"), [script, ...args]];
}

/** A running child process with its output collected. */
export interface Child {
  /** The process. */
  readonly process: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves when stdout contains `text` (rejects if the child exits first or after `ms`). */
  waitFor(text: string, ms?: number): Promise<void>;
  /** Resolves with the exit code (or the signal name) when the child exits. */
  exited: Promise<{ code: number | null; signal: string | null }>;
  /**
   * Whether the child has exited and closed its pipes. Not `signalCode`:
   * Deno's `kill()` sets that at once, before the process is gone.
   */
  hasExited(): boolean;
}

/** Starts `command args` with `env` added to the environment. */
export function start(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Child {
  const child = spawn(command, args, {
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  child.stdout!.on("data", (d) => {
    out += d;
    for (const l of listeners) l();
  });
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: string | null }>(
    (resolve) => {
      const settle = (code: number | null, signal: string | null) => {
        for (const l of listeners) l();
        resolve({ code, signal });
      };
      child.on("close", settle);
      // A child that cannot start (ENOENT, EACCES) has no close in every runtime.
      child.on("error", (error) => {
        err += `spawn ${command}: ${error.message}`;
        settle(null, null);
      });
    },
  );
  let done = false;
  exited.then(() => (done = true));
  return {
    process: child,
    stdout: () => out,
    stderr: () => err,
    exited,
    hasExited: () => done,
    waitFor(text, ms = READY_MS) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(
            new Error(
              `timed out waiting for "${text}"; stdout: ${out}; stderr: ${err}`,
            ),
          );
        }, ms);
        const check = () => {
          if (out.includes(text)) {
            clearTimeout(timer);
            listeners.delete(check);
            resolve();
          } else if (done) {
            clearTimeout(timer);
            listeners.delete(check);
            reject(
              new Error(
                `exited before "${text}"; stdout: ${out}; stderr: ${err}`,
              ),
            );
          }
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/**
 * Whether every directory from `path` up to `/` lets other users through
 * (the "x" bit for others).
 */
function searchableByOthers(path: string): boolean {
  for (let p = path;; p = dirname(p)) {
    if ((statSync(p).mode & 0o001) === 0) return false;
    if (dirname(p) === p) return true;
  }
}

/** Copies the tree `from` to `to`: directories 0755, files 0644 (whatever the checkout's umask made them). */
function copyReadable(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  chmodSync(to, 0o755);
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const [source, target] = [join(from, entry.name), join(to, entry.name)];
    if (entry.isDirectory()) copyReadable(source, target);
    else if (entry.isFile()) {
      copyFileSync(source, target);
      chmodSync(target, 0o644);
    }
  }
}

/**
 * A command line that runs fixture `name` under `runtime` as another user
 * (`nobody`, through setpriv): it must not point that user at the checkout,
 * which may sit in a folder only its owner can enter (a 0700 home, a
 * `mktemp -d` clone). So `mod.ts`, `src/` and `tests/fixtures/` are copied,
 * world-readable, to a fresh temporary directory others can enter, with the
 * runtime's binary (hard-linked if it can be, else copied); the command
 * runs those copies. `remove` deletes the copy.
 */
export function otherUserCommand(
  runtime: "deno" | "bun",
  name: string,
  args: string[] = [],
): { command: string; argv: string[]; remove: () => void } {
  const base = searchableByOthers(tmpdir()) ? tmpdir() : "/tmp";
  const copy = mkdtempSync(join(base, "memshare-other-user-"));
  try {
    chmodSync(copy, 0o755);
    copyFileSync(join(ROOT, "mod.ts"), join(copy, "mod.ts"));
    chmodSync(join(copy, "mod.ts"), 0o644);
    copyReadable(join(ROOT, "src"), join(copy, "src"));
    copyReadable(
      join(ROOT, "tests", "fixtures"),
      join(copy, "tests", "fixtures"),
    );
    const binary = realpathSync(runtimeBinary(runtime));
    const linked = join(copy, runtime);
    try {
      linkSync(binary, linked);
      if ((statSync(linked).mode & 0o005) !== 0o005) throw new Error("mode");
    } catch { // another file system, no right to link, or not theirs to run: a copy
      rmSync(linked, { force: true });
      copyFileSync(binary, linked);
      chmodSync(linked, 0o755);
    }
    const script = join(copy, relative(ROOT, fixture(name)));
    const [, argv] = runtimeCommand(runtime, script, args);
    return {
      command: linked,
      argv,
      remove: () => rmSync(copy, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(copy, { recursive: true, force: true });
    throw error;
  }
}

/** Starts a fixture under `runtime` (Deno with `--allow-ffi` only). */
export function startFixture(
  runtime: "deno" | "bun",
  name: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Child {
  const [command, argv] = runtimeCommand(runtime, fixture(name), args);
  return start(command, argv, env);
}

/**
 * Kills every child still running and waits for all of them, so no child
 * outlives its test. A stopped child (SIGSTOP) is continued first, or
 * nothing but SIGKILL would end it.
 */
export async function reap(children: Child[]): Promise<void> {
  for (const child of children) {
    if (child.hasExited()) continue;
    if (!WINDOWS && child.process.pid !== undefined) {
      try {
        process.kill(child.process.pid, "SIGCONT");
      } catch {
        // Gone between the check and the signal.
      }
    }
    child.process.kill("SIGKILL");
  }
  await Promise.all(children.map((child) => child.exited));
}

/** Runs a command to completion; resolves with its exit code and output. */
export async function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<
  { code: number | null; signal: string | null; stdout: string; stderr: string }
> {
  const child = start(command, args, env);
  const { code, signal } = await child.exited;
  return { code, signal, stdout: child.stdout(), stderr: child.stderr() };
}

/**
 * `promise`, or a rejection with `message()` once `ms` pass first (the timer
 * is cleared either way, so it never keeps the process alive).
 */
export async function within<T>(
  ms: number,
  promise: Promise<T>,
  message: () => string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message())), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether the tests run on Windows (for the Windows builds under Wine, or on Windows itself). */
export const WINDOWS: boolean = process.platform === "win32";

/** A `skip` option for tests of POSIX-only behaviour, with the reason shown on Windows. */
export function posixOnly(reason: string): { skip: string | false } {
  return { skip: WINDOWS && `POSIX only: ${reason}` };
}
