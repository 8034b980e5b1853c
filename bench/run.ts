/**
 * The benchmark driver: runs the C baselines, then the suite under Deno,
 * then under Bun (each in its own process), and prints one markdown table
 * with the machine it ran on.
 *
 * Usage: `node_modules/.bin/deno run -A bench/run.ts [--quick]
 * [--only=uncontended,handoff,contended,memory] [--runtimes=deno,bun] [--no-c]
 * [--repeat=N]` (N whole runs: the last one's table, then every ratio in
 * each run and the median).
 * (also runs under Bun: `node_modules/.bin/bun bench/run.ts`).
 *
 * @module
 */

import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, release } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { cBaselines } from "./c_baseline.ts";
import { benchScript, ROOT, RUNTIME, scriptCommand, tempDir } from "./proc.ts";
import { PLANS, ROWS_MARKER } from "./suite.ts";
import { markdownTable, type Row, runsSummary } from "./table.ts";

const log = (message: string) => process.stderr.write(`[run] ${message}\n`);

/** Runs bench/suite.ts under `runtime` and returns its rows. */
function runtimeRows(runtime: "deno" | "bun", args: string[]): Promise<Row[]> {
  const [command, argv] = scriptCommand(benchScript("suite.ts"), args, runtime);
  const child = spawn(command, argv, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (chunk) => (out += chunk));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
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
    log(`suite under ${runtime}`);
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
  if (repeat > 1) log(`run ${i + 1} of ${repeat}`);
  runs.push(await measure());
}
const rows = runs[runs.length - 1];

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
