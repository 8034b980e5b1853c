/**
 * The stress driver's command line.
 *
 * @module
 */

/** What a stress run does. */
export interface StressOptions {
  /** How long the workers run, in seconds. */
  seconds: number;
  /** Worker processes, alternately Deno and Bun. */
  workers: number;
  /** Tasks (concurrent loops, one slot each) per worker process. */
  tasks: number;
  /** False with `--no-lock`: workers skip the lock, to show the checks catch overlaps. */
  lock: boolean;
  /** Critical sections hold the lock 0 to this many ms, mostly (see pace.ts). */
  maxHold: number;
  /** Mean ms between SIGKILLs of a worker; 0 disables kills. */
  killEvery: number;
  /** Mean ms between deletions of the lock file (a tmp cleaner); 0 = none. */
  unlinkEvery: number;
  /** Whether a Python `filelock.FileLock` holder takes turns too. */
  python: boolean;
}

/** Usage text for `--help` and bad arguments. */
export const USAGE = `usage: deno run -A stress/run.ts [options]
  --seconds N         run for N seconds (default 30)
  --workers N         worker processes, alternately Deno and Bun (default 4)
  --tasks N           concurrent tasks per worker (default 2)
  --max-hold MS       critical sections hold the lock 0..MS ms, mostly (default 5)
  --kill-every MS     mean time between SIGKILLs of a worker, 0 = none (default 400)
  --unlink-every MS   mean time between deletions of the lock file, 0 = none
                      (default 0; needs --no-python: filelock does not read
                      memshare's header, so it is not kept out of a new file)
  --no-python         no Python filelock holder
  --no-lock, --break  workers skip the lock (the run must then fail)`;

/** Parses `argv`; throws with the usage on anything it does not know. */
export function parseOptions(argv: readonly string[]): StressOptions {
  const options: StressOptions = {
    seconds: 30,
    workers: 4,
    tasks: 2,
    lock: true,
    maxHold: 5,
    killEvery: 400,
    unlinkEvery: 0,
    python: true,
  };
  const numbers = {
    "--seconds": "seconds",
    "--workers": "workers",
    "--tasks": "tasks",
    "--max-hold": "maxHold",
    "--kill-every": "killEvery",
    "--unlink-every": "unlinkEvery",
  } as const;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--no-lock" || arg === "--break") options.lock = false;
    else if (arg === "--no-python") options.python = false;
    else if (arg in numbers) {
      const value = Number(argv[++i]);
      if (!Number.isFinite(value) || value < 0) {
        throw new Error(`${arg} needs a number\n${USAGE}`);
      }
      options[numbers[arg as keyof typeof numbers]] = value;
    } else throw new Error(`unknown argument ${arg}\n${USAGE}`);
  }
  if (options.workers < 1 || options.tasks < 1 || options.seconds <= 0) {
    throw new Error(
      `--workers, --tasks and --seconds must be positive\n${USAGE}`,
    );
  }
  if (options.unlinkEvery > 0 && options.python) {
    throw new Error(`--unlink-every needs --no-python\n${USAGE}`);
  }
  return options;
}
