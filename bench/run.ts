/**
 * The benchmark driver: runs the C baselines, then the suite under Deno,
 * then under Bun (each in its own process), and prints one markdown table
 * with the machine it ran on.
 *
 * Usage: `node_modules/.bin/deno run -A bench/run.ts [--quick]
 * [--only=uncontended,handoff,contended,memory] [--runtimes=deno,bun] [--no-c]
 * [--repeat=N] [--charts=DIR | --no-charts] [--save-rows=FILE]` (N whole
 * runs: the last one's table, then every ratio in each run and the median).
 * (also runs under Bun: `node_modules/.bin/bun bench/run.ts`).
 *
 * It draws the last run's rows as charts into bench/charts/ (charts.ts),
 * which bench/README.md embeds; `--save-rows` keeps the rows as JSON, from
 * which `bench/charts.ts FILE` draws them again. While it runs, stderr shows
 * what it is doing and how far along it is (progress.ts): one line that
 * rewrites itself on a terminal, a plain line per step otherwise.
 *
 * @module
 */

import { execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release } from "node:os";
import { join, relative, resolve } from "node:path";
import process from "node:process";
import { cBaselines } from "./c_baseline.ts";
import { CHARTS_DIR, writeCharts } from "./charts.ts";
import { CONTENDED_PROCS } from "./contended.ts";
import { VARIANT_NAMES } from "./handoff.ts";
import { Progress } from "./progress.ts";
import { benchScript, ROOT, RUNTIME, scriptCommand, tempDir } from "./proc.ts";
import { PLANS, ROWS_MARKER } from "./suite.ts";
import { markdownTable, type Row, runsSummary } from "./table.ts";

/**
 * A progress message (a new step) or a line to show as is: the suite's
 * `[deno] …` / `[bun] …` lines and the C baselines' `C: …` are steps.
 */
function onMessage(line: string): void {
  const step = /^(?:\[(deno|bun)\] |(C): )(.*)$/.exec(line);
  if (step === null || /LOST UPDATES|failed/.test(line)) {
    progress.log(line.startsWith("[") ? line : `[run] ${line}`);
  } else {
    const who = step[1] ?? step[2];
    progress.step(`${who}: ${step[3]}${runLabel()}`);
  }
}

/** Runs bench/suite.ts under `runtime` and returns its rows. */
function runtimeRows(runtime: "deno" | "bun", args: string[]): Promise<Row[]> {
  const [command, argv] = scriptCommand(benchScript("suite.ts"), args, runtime);
  const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (chunk) => (out += chunk));
  let err = "";
  child.stderr!.on("data", (chunk) => {
    err += chunk;
    const lines = err.split("\n");
    err = lines.pop()!;
    for (const line of lines) onMessage(line);
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      if (err !== "") onMessage(err);
      const line = out.split("\n").find((l) => l.startsWith(ROWS_MARKER));
      if (code !== 0 || line === undefined) {
        reject(new Error(`${runtime} suite failed (exit ${code}): ${out}`));
      } else resolve(JSON.parse(line.slice(ROWS_MARKER.length)));
    });
  });
}

function version(runtime: "deno" | "bun"): string {
  const binary = join(ROOT, "node_modules", ".bin", runtime);
  try {
    const first = execFileSync(binary, ["--version"], { encoding: "utf8" })
      .split("\n")[0].trim();
    return first.startsWith(runtime) ? first : `${runtime} ${first}`;
  } catch {
    return `${runtime} (version unknown)`;
  }
}

/** The commit measured, and whether the library's files differ from it. */
function source(): string {
  try {
    const git = (...a: string[]) =>
      execFileSync("git", ["-C", ROOT, ...a], { encoding: "utf8" }).trim();
    const changed = git("status", "--porcelain", "--", "mod.ts", "src")
      .split("\n").filter((l) => l !== "").length;
    return `commit ${git("rev-parse", "--short", "HEAD")}${
      changed > 0 ? ` + ${changed} uncommitted change(s) in mod.ts/src` : ""
    }`;
  } catch {
    return "unknown (no git)";
  }
}

/** A few lines describing the machine and the run. */
function machine(runtimes: readonly ("deno" | "bun")[]): string {
  let model = cpus()[0]?.model ?? "unknown";
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n")
      .find((l) => l.startsWith("model name"));
    if (line !== undefined) model = line.split(":")[1].trim();
  } catch {
    // not Linux: keep os.cpus()'s name
  }
  return [
    `- date: ${new Date().toISOString()}`,
    `- CPUs: ${cpus().length} × ${model}`,
    `- kernel: ${release()}`,
    `- runtimes: ${runtimes.map(version).join("; ")}`,
    `- source: ${source()}`,
    `- load average (1/5/15 min) at the end: ${
      loadavg().map((l) => l.toFixed(2)).join(" / ")
    } (other work on the machine adds noise)`,
  ].join("\n");
}

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const plan = PLANS[quick ? "quick" : "full"];
const only = args.find((a) => a.startsWith("--only="))?.slice(7).split(",") ??
  [];
const runtimes = (args.find((a) => a.startsWith("--runtimes="))?.slice(11) ??
  "deno,bun").split(",") as ("deno" | "bun")[];
const suiteArgs = args.filter((a) =>
  a === "--quick" || a.startsWith("--only=")
);
const sectionOf: Record<string, string> = { "hand-off": "handoff" };

const repeat = Math.max(
  1,
  Number(args.find((a) => a.startsWith("--repeat="))?.slice(9) ?? 1) || 1,
);
const chartsDir = args.includes("--no-charts") ? null : resolve(
  args.find((a) => a.startsWith("--charts="))?.slice(9) ?? CHARTS_DIR,
);
const saveRows = args.find((a) => a.startsWith("--save-rows="))?.slice(12);

/**
 * The steps one whole run is expected to report: the C baselines' five,
 * then per runtime one per section, hand-off variant and contended loop.
 * An estimate for the count shown (a step more grows the total).
 */
function expectedSteps(): number {
  const want = (s: string) => only.length === 0 || only.includes(s);
  const handoffs = Object.keys(VARIANT_NAMES).length;
  let steps = args.includes("--no-c") ? 0 : 2 + CONTENDED_PROCS.length;
  for (const runtime of runtimes) {
    if (want("uncontended")) steps += 1;
    if (want("handoff")) steps += runtime === "deno" ? handoffs : handoffs - 2;
    if (want("contended")) steps += 3 * CONTENDED_PROCS.length;
    if (want("memory")) steps += 1;
  }
  return steps * repeat;
}

const progress = new Progress("bench", expectedSteps());
let runIndex = 0;
const runLabel = () => repeat > 1 ? ` (run ${runIndex} of ${repeat})` : "";
const log = (message: string) => onMessage(message);

/** One whole run: the C baselines, then each runtime's suite. */
async function measure(): Promise<Row[]> {
  const rows: Row[] = [];
  if (!args.includes("--no-c")) {
    const scratch = tempDir();
    try {
      rows.push(
        ...cBaselines(scratch.path, {
          batches: plan.batches.batches,
          perBatch: plan.batches.maxPerBatch,
          rounds: plan.rounds,
          warmup: plan.warmup,
          durationMs: plan.durationMs,
        }, log).filter((row) =>
          only.length === 0 ||
          only.includes(sectionOf[row.section] ?? row.section)
        ),
      );
    } finally {
      scratch.remove();
    }
  }
  for (const runtime of runtimes) {
    progress.log(`[run] suite under ${runtime}`);
    rows.push(...await runtimeRows(runtime, suiteArgs));
  }
  for (const row of rows) {
    if (row.baselineRef === undefined) continue;
    const ref = rows.find((r) => r.operation === row.baselineRef);
    if (ref !== undefined) row.baseline = { name: "C", value: ref.value };
  }
  return rows;
}

const started = performance.now();
const runs: Row[][] = [];
for (let i = 0; i < repeat; i++) {
  runIndex = i + 1;
  if (repeat > 1) progress.log(`[run] run ${i + 1} of ${repeat}`);
  runs.push(await measure());
}
const rows = runs[runs.length - 1];
progress.finish(
  `measured in ${((performance.now() - started) / 1000).toFixed(0)} s`,
);
if (saveRows !== undefined) {
  writeFileSync(saveRows, JSON.stringify(rows, null, 1) + "\n");
  process.stderr.write(`[run] rows saved to ${saveRows}\n`);
}
if (chartsDir !== null) {
  const title = `${quick ? "quick run (smoke test; " : "full run ("}${
    new Date().toISOString().slice(0, 16).replace("T", " ")
  } UTC, ${source()}${repeat > 1 ? `, the last of ${repeat} runs` : ""})`;
  const written = await writeCharts(rows, chartsDir, title);
  process.stderr.write(
    `[run] charts: ${
      written.map((path) => {
        const near = relative(process.cwd(), path);
        return near.startsWith("..") ? path : near;
      }).join(", ")
    }\n`,
  );
}

console.log(`## memshare benchmarks${quick ? " (quick run)" : ""}\n`);
console.log(machine(runtimes));
console.log(
  `- command: ${RUNTIME === "deno" ? "deno run -A" : "bun"} bench/run.ts ${
    args.join(" ")
  }`.trimEnd(),
);
console.log(
  `- wall time: ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
);
if (repeat > 1) console.log(`### The last of ${repeat} runs\n`);
console.log(markdownTable(rows));
if (repeat > 1) {
  console.log(`\n### Every ratio over all ${repeat} runs\n`);
  console.log(runsSummary(runs));
}
const failed = runs.flat().filter((r) => r.ok === false);
if (failed.length > 0) {
  console.log(`\n${failed.length} correctness check(s) failed.`);
  process.exit(1);
}
