/**
 * Hand-off A/B: several hand-off variants — raw baselines and memshare of
 * one or more library trees — measured in one process, interleaved in
 * repeats (the order rotates each repeat), so that machine noise hits them
 * alike. Prints each variant's p50 / p90 per repeat and its p50 ratio to the
 * first variant of the same repeat, then the median and min–max of those
 * ratios.
 *
 * Usage: `handoff_ab.ts [--rounds=N] [--repeat=N] VARIANT[@TREE] ...`,
 * VARIANT one of bench/handoff.ts's (`raw-sync`, `raw-sync-minimal`, `raw-async-minimal`, `raw-nonblocking`,
 * `raw-worker`, `raw-worker-notify`, `memshare-async`, `memshare-async-timeout`, `memshare-sync`,
 * `fsfile`), TREE a directory holding `mod.ts` (`git archive REV mod.ts src
 * | tar -x -C TREE`); without it, this checkout. A suffix `#warm=N` first
 * runs N uncontended sync and async pairs in each process (JIT warm-up; see
 * `warmUp` in handoff.ts). E.g.
 * `deno run -A bench/handoff_ab.ts raw-sync raw-nonblocking memshare-async@/tmp/ab/old memshare-async`.
 *
 * @module
 */

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { handoffSamples, type Variant } from "./handoff.ts";
import { RUNTIME, tempDir } from "./proc.ts";
import { quantile } from "./stats.ts";

const options = new Map<string, string>();
const specs: string[] = [];
for (const arg of process.argv.slice(2)) {
  const m = /^--(\w+)=(.*)$/.exec(arg);
  if (m) options.set(m[1], m[2]);
  else specs.push(arg);
}
if (specs.length === 0) {
  console.error(
    "usage: bench/handoff_ab.ts [--rounds=N] [--repeat=N] VARIANT[@TREE] ...",
  );
  process.exit(2);
}
const rounds = Number(options.get("rounds") ?? 200);
const repeats = Number(options.get("repeat") ?? 3);
const warmup = 10;

const us = (ns: number) => (ns / 1000).toFixed(1);
const p50s: number[][] = specs.map(() => []);
const ratios: number[][] = specs.map(() => []);
const scratch = tempDir();
try {
  for (let rep = 0; rep < repeats; rep++) {
    const order = specs.map((_, i) => (i + rep) % specs.length);
    const p90 = new Map<number, number>();
    const p10 = new Map<number, number>();
    for (const i of order) {
      const [spec, warm] = specs[i].split("#warm=");
      const [variant, tree] = spec.split("@");
      if (warm === undefined) delete process.env.MEMSHARE_BENCH_WARM;
      else process.env.MEMSHARE_BENCH_WARM = warm;
      const dir = join(scratch.path, `r${rep}-${i}`);
      mkdirSync(dir);
      const samples = await handoffSamples(
        variant as Variant,
        dir,
        rounds,
        warmup,
        tree,
      );
      p50s[i].push(quantile(samples, 0.5));
      p90.set(i, quantile(samples, 0.9));
      p10.set(i, quantile(samples, 0.1));
    }
    const base = p50s[0][rep];
    console.log(`${RUNTIME} repeat ${rep + 1}:`);
    specs.forEach((spec, i) => {
      const ratio = p50s[i][rep] / base;
      ratios[i].push(ratio);
      console.log(
        `  ${spec.padEnd(40)} p10 ${us(p10.get(i)!).padStart(7)} µs  p50 ${
          us(p50s[i][rep]).padStart(7)
        } µs  p90 ${us(p90.get(i)!).padStart(7)} µs  ${ratio.toFixed(2)}×`,
      );
    });
  }
  console.log(`${RUNTIME} summary (p50 ÷ ${specs[0]}; median [min–max]):`);
  specs.forEach((spec, i) => {
    const r = ratios[i];
    const p = p50s[i];
    console.log(
      `  ${spec.padEnd(40)} p50 ${us(quantile(p, 0.5)).padStart(7)} µs  ${
        quantile(r, 0.5).toFixed(2)
      }× [${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)}]`,
    );
  });
} finally {
  scratch.remove();
}
