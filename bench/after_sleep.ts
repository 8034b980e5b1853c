/**
 * What a few small operations cost right after the thread slept, against
 * the same operations back to back: a process in a hand-off has just woken
 * up (the waiter) or slept through the hold (the holder), so its first
 * steps pay whatever a sleep costs the CPU and the memory it touches. On a
 * nested VM every allocation after a 2 ms sleep costs 10–25× its warm time
 * while arithmetic does not (bench/README.md, "Hand-off: where the time
 * goes").
 *
 * Usage: `deno run -A bench/after_sleep.ts` or `bun bench/after_sleep.ts`
 * (300 samples per operation and gap).
 *
 * @module
 */

import { quantile } from "./stats.ts";

const word = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread for `ms` (as the bench's holders and waiters do). */
const sleep = (ms: number) => void Atomics.wait(word, 0, 0, ms);

let kept: unknown;
let region = new ArrayBuffer(64);
const operations: [string, () => void][] = [
  ["ArrayBuffer.transfer() of 64 B (a release's detach)", () => {
    region = region.transfer();
  }],
  ["new ArrayBuffer(64)", () => {
    kept = new ArrayBuffer(64);
  }],
  ["new Uint8Array over a buffer (guard.memory)", () => {
    kept = new Uint8Array(region);
  }],
  ["a small object literal", () => {
    kept = { token: 1, recovered: false };
  }],
  ["200 square roots (no allocation)", () => {
    let x = 0;
    for (let i = 0; i < 200; i++) x += Math.sqrt(i);
    kept = x;
  }],
];

const runtime = (globalThis as { Deno?: unknown }).Deno ? "deno" : "bun";
console.log(`${runtime}: µs per operation, p50 (p90), 300 samples each\n`);
console.log("| operation | back to back | after a 2 ms sleep |");
console.log("|---|---|---|");
for (const [name, operation] of operations) {
  const cells: string[] = [];
  for (const gap of [0, 2]) {
    const samples: number[] = [];
    for (let i = 0; i < 300; i++) {
      if (gap > 0) sleep(gap);
      const started = performance.now();
      operation();
      samples.push((performance.now() - started) * 1000);
    }
    cells.push(
      `${quantile(samples, 0.5).toFixed(2)} (${
        quantile(samples, 0.9).toFixed(2)
      })`,
    );
  }
  console.log(`| ${name} | ${cells.join(" | ")} |`);
}
if (kept === undefined) console.log("");
