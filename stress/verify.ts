/**
 * The end of a stress run: checks the final region against what the
 * processes reported, and prints the summary. Exact checks:
 *
 * - the counter equals the sum of the done counts (increments of holders
 *   killed half-way were completed by whoever recovered after them);
 * - every worker that exited normally counted exactly the sections its
 *   slots' done counts show, and so did the Python holder;
 * - every slot a recovering holder found inside was one the driver killed;
 * - nobody is inside at the end;
 * - guards that came back `recovered` are no more than the header's
 *   recovery count (a holder killed right after recovering adds to the
 *   header's count only);
 * - the header's acquisition count is the memshare sections done plus the
 *   driver's two acquires, plus at most one per kill (a holder killed
 *   before finishing its section).
 *
 * @module
 */

import type { LockInfo } from "../mod.ts";
import {
  COUNTER,
  DONE,
  MAX_SLOTS,
  OWNER,
  PYTHON_SLOT,
  RECOVERED_FROM,
  RECOVERIES,
  REPAIRED,
  totalDone,
  VIOLATIONS,
} from "./layout.ts";
import type { Method, TaskStats } from "./ops.ts";
import type { StressOptions } from "./options.ts";

/** What a worker prints last. */
export interface WorkerResult {
  /** Its pid. */
  pid: number;
  /** "deno" or "bun". */
  runtime: string;
  /** One entry per task. */
  tasks: TaskStats[];
}

/** What the Python holder prints last. */
export interface PythonResult {
  /** Turns completed under `FileLock`. */
  turns: number;
  /** `FileLock.acquire` timeouts. */
  timeouts: number;
  /** Turns that found a killed memshare holder's owner mark. */
  deadOwner: number;
  /** Problems it found. */
  violations: number;
}

/** One run of one worker process. */
export interface Incarnation {
  /** Which worker position it fills (restarts keep the lane). */
  readonly lane: number;
  /** Its runtime. */
  readonly runtime: "deno" | "bun";
  /** Its tasks' slots. */
  readonly slots: number[];
  /** Whether the driver SIGKILLed it. */
  killed: boolean;
  /** Its last line, when it exited normally. */
  result?: WorkerResult;
}

/** Everything the driver knows at the end of a run. */
export interface Outcome {
  /** The run's options. */
  options: StressOptions;
  /** Seconds the workers ran. */
  seconds: number;
  /** A copy of the region's words, read under the lock at the end. */
  words: Uint32Array;
  /** Every worker process run. */
  incarnations: Incarnation[];
  /** The Python holder's report, if it ran. */
  python?: PythonResult;
  /** SIGKILLs sent. */
  kills: number;
  /** Times the lock file was deleted. */
  unlinks: number;
  /** Of the kills, how many hit a worker the owner word named as inside. */
  killsInside: number;
  /** `lock.info()` at the end. */
  header: LockInfo;
  /** The header's count of waiting processes at the end (nobody waits then). */
  waitersLeft: number;
  /** Whether the driver's own final acquire was a recovery. */
  finalRecovered: boolean;
  /** Crashes, hangs and other failures the driver saw. */
  failures: string[];
}

/** The summary lines, and whether the run passed. */
export function verify(o: Outcome): { lines: string[]; passed: boolean } {
  const w = o.words;
  const problems = [...o.failures];
  let violations = w[VIOLATIONS] + (o.python?.violations ?? 0);
  const lines: string[] = [];
  const killedSlots = new Set<number>();
  for (const inc of o.incarnations) {
    if (inc.killed) { for (const slot of inc.slots) killedSlots.add(slot); }
  }

  lines.push(...laneTable(o));
  if (o.python !== undefined) {
    const p = o.python;
    lines.push(
      `python: ${p.turns} turns under FileLock, ${p.timeouts} timeouts, ${p.deadOwner} found a killed holder's mark, ${p.violations} violations`,
    );
    if (w[DONE + PYTHON_SLOT] !== p.turns) {
      problems.push(
        `python counted ${p.turns} turns, its done count is ${
          w[DONE + PYTHON_SLOT]
        }`,
      );
    }
  }

  const counter = w[COUNTER];
  const done = totalDone(w);
  lines.push(
    `counter: ${counter}, completed sections: ${done} (${
      w[REPAIRED]
    } finished on recovery for holders killed half-way) ${
      counter === done ? "— equal" : "— MISMATCH"
    }`,
  );
  if (counter !== done) {
    problems.push(`counter ${counter} != completed sections ${done}`);
  }

  let checked = 0;
  for (const inc of o.incarnations) {
    if (inc.killed || inc.result === undefined) continue;
    for (const task of inc.result.tasks) {
      checked++;
      if (w[DONE + task.slot] !== task.completed) {
        problems.push(
          `slot ${task.slot} counted ${task.completed} sections, its done count is ${
            w[DONE + task.slot]
          }`,
        );
      }
    }
  }
  lines.push(`done counts match the reports of ${checked} tasks that exited`);

  const marked: number[] = [];
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    if (w[RECOVERED_FROM + slot] !== 0) marked.push(slot);
  }
  const unkilled = marked.filter((slot) => !killedSlots.has(slot));
  violations += unkilled.length;
  lines.push(
    `recovering holders found ${marked.length} killed holders' owner marks${
      unkilled.length > 0 ? `; NOT KILLED: slots ${unkilled.join(", ")}` : ""
    }`,
  );
  if (w[OWNER] !== 0) {
    violations++;
    lines.push(`owner word at the end: ${w[OWNER]} (should be 0)`);
  }

  if (w[RECOVERIES] > o.header.recoveries) {
    problems.push(
      `${
        w[RECOVERIES]
      } guards came back recovered, the header counts ${o.header.recoveries} recoveries`,
    );
  }
  // Every memshare section follows one acquisition; the driver made two.
  const extra = o.header.acquisitions - (done - w[DONE + PYTHON_SLOT]) - 2;
  if (extra < 0 || extra > o.kills) {
    problems.push(
      `the header counts ${o.header.acquisitions} acquisitions for ${
        done - w[DONE + PYTHON_SLOT]
      } memshare sections, 2 driver acquires and ${o.kills} kills`,
    );
  }
  lines.push(
    `header: ${o.header.acquisitions} acquisitions, ${o.header.recoveries} recoveries, ${o.waitersLeft} waiters still counted (killed waiters stay counted); ${o.killsInside} of ${o.kills} kills hit a holder inside${
      o.finalRecovered ? "; the driver's final acquire recovered" : ""
    }`,
  );
  if (o.unlinks > 0) lines.push(`the lock file was deleted ${o.unlinks} times`);
  lines.push(`ran ${o.seconds.toFixed(1)} s`);
  lines.push(`operations: ${done}`);
  lines.push(`kills: ${o.kills}`);
  lines.push(`recoveries: ${w[RECOVERIES]}`);
  lines.push(`violations: ${violations}`);
  for (const problem of problems) lines.push(`FAILED: ${problem}`);
  const passed = violations === 0 && problems.length === 0;
  lines.push(passed ? "PASSED" : "FAILED");
  return { lines, passed };
}

/** Per lane: runs, kills, sections (from the region) and the survivors' stats. */
function laneTable(o: Outcome): string[] {
  const heads = [
    "lane",
    "runtime",
    "runs",
    "killed",
    "sections",
    "acquire",
    "acqSync",
    "tryAcq",
    "run",
    "timeouts",
    "aborts",
    "tryMiss",
    "heldHere",
    "recovered",
  ];
  const rows: string[][] = [];
  const lanes = new Map<number, Incarnation[]>();
  for (const inc of o.incarnations) {
    lanes.set(inc.lane, [...lanes.get(inc.lane) ?? [], inc]);
  }
  for (const [lane, incs] of [...lanes].sort((a, b) => a[0] - b[0])) {
    const tasks = incs.flatMap((inc) => inc.result?.tasks ?? []);
    const sum = (f: (t: TaskStats) => number) =>
      String(tasks.reduce((n, t) => n + f(t), 0));
    const by = (m: Method) => sum((t) => t.byMethod[m]);
    let sections = 0;
    for (const inc of incs) {
      for (const slot of inc.slots) sections += o.words[DONE + slot];
    }
    rows.push([
      String(lane),
      incs[0].runtime,
      String(incs.length),
      String(incs.filter((inc) => inc.killed).length),
      String(sections),
      by("acquire"),
      by("acquireSync"),
      by("tryAcquire"),
      by("run"),
      sum((t) => t.timeouts),
      sum((t) => t.aborts),
      sum((t) => t.misses),
      sum((t) => t.heldHere),
      sum((t) => t.recovered),
    ]);
  }
  const widths = heads.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => r[i].length))
  );
  const format = (cells: string[]) =>
    cells.map((c, i) => i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))
      .join("  ");
  return [
    format(heads),
    ...rows.map(format),
    "(method and outcome columns: processes that exited normally; sections: all, from the region)",
  ];
}
