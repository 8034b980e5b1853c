/**
 * Contended A/B: the contended loops of two or more library trees, run
 * alternately (A B B A …) in short runs so that machine noise hits them
 * alike. Each TREE must hold `mod.ts`, `src/` and a copy of this `bench/`
 * (its `contended_worker.ts` imports that tree's `mod.ts`). Prints each
 * tree's median op/s per variant and its ratio to the first tree's (median
 * and min–max over the repeats).
 *
 * Usage: `contended_ab.ts [--ms=300] [--repeat=6] [--procs=2,4] TREE ...`.
 *
 * @module
 */

import { resolve } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import type { LoopVariant } from "./contended.ts";
import { RUNTIME, tempDir } from "./proc.ts";
import { quantile } from "./stats.ts";
import type { Row } from "./table.ts";

const options = new Map<string, string>();
const trees: string[] = [];
for (const arg of process.argv.slice(2)) {
  const m = /^--(\w+)=(.*)$/.exec(arg);
  if (m) options.set(m[1], m[2]);
  else trees.push(arg);
}
const ms = Number(options.get("ms") ?? 300);
const repeats = Number(options.get("repeat") ?? 6);
const procsList = (options.get("procs") ?? "2,4").split(",").map(Number);
const variants: LoopVariant[] = ["memshare-async", "memshare-sync"];

type RunFn = (
  v: LoopVariant,
  procs: number,
  ms: number,
  dir: string,
) => Promise<Row>;
const runs: RunFn[] = [];
for (const tree of trees) {
  const mod = await import(
    pathToFileURL(resolve(tree, "bench", "contended.ts")).href
  );
  runs.push(mod.contendedRun);
}
const rates = new Map<string, number[][]>();
const scratch = tempDir();
try {
  for (let rep = 0; rep < repeats; rep++) {
    for (const procs of procsList) {
      for (const variant of variants) {
        const key = `${procs} procs ${variant}`;
        if (!rates.has(key)) rates.set(key, trees.map(() => []));
        const order = trees.map((_, i) => i);
        if (rep % 2 === 1) order.reverse();
        for (const i of order) {
          const dir = `${scratch.path}/${rep}-${i}`;
          await import("node:fs").then((fs) =>
            fs.mkdirSync(dir, { recursive: true })
          );
          const row = await runs[i](variant, procs, ms, dir);
          if (!String(row.notes).includes("✓")) {
            throw new Error(`${key}: ${row.notes}`);
          }
          rates.get(key)![i].push(row.value);
        }
      }
    }
  }
  console.log(
    `${RUNTIME} contended, ${repeats} × ${ms} ms (op/s median; ratio to ${
      trees[0]
    }: median [min–max])`,
  );
  for (const [key, perTree] of rates) {
    const cells = perTree.map((r, i) => {
      const ratios = r.map((v, k) => v / perTree[0][k]);
      return `${(quantile(r, 0.5) / 1000).toFixed(1)} k` +
        (i === 0
          ? ""
          : ` ${quantile(ratios, 0.5).toFixed(2)}× [${
            Math.min(...ratios).toFixed(2)
          }–${Math.max(...ratios).toFixed(2)}]`);
    });
    console.log(`  ${key.padEnd(26)} ${cells.join("  |  ")}`);
  }
} finally {
  scratch.remove();
}
