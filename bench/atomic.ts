/**
 * Atomic commit's cost: the uncontended acquire + release pair of a lock
 * made with `{ atomic: true }` against the same pair of a plain lock, each
 * turn writing one byte of the memory (so the atomic turn copies the
 * published bytes into its working copy and publishes it), at 16 B, 4 KiB
 * and 1 MiB. Interleaved rounds (A B B A), median of atomic ÷ plain.
 * Target at 16 B: ≤ 1.2×.
 *
 * Usage: `node_modules/.bin/deno run -A bench/atomic.ts` or
 * `node_modules/.bin/bun bench/atomic.ts` (`--quick` for a smoke run).
 *
 * @module
 */

import process from "node:process";
import { MemoryShareLock } from "../mod.ts";
import { RUNTIME, tempDir } from "./proc.ts";

const quick = process.argv.includes("--quick") ||
  (globalThis as { Deno?: { args: string[] } }).Deno?.args.includes("--quick");
const ROUNDS = quick ? 3 : 15;
const SIZES = [16, 4096, 1 << 20];

/** Pairs per batch: about the same time per batch whatever the size. */
function pairsFor(length: number): number {
  return quick
    ? 2_000
    : length >= 1 << 20
    ? 400
    : length >= 4096
    ? 40_000
    : 100_000;
}

async function batch(lock: MemoryShareLock, pairs: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < pairs; i++) {
    const guard = await lock.acquire();
    guard.memory[0]++;
    await guard.release();
  }
  return (performance.now() - start) * 1e6 / pairs;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

const dir = tempDir();
console.log(
  `| runtime | length | plain ns/pair | atomic ns/pair | atomic ÷ plain (median of ${ROUNDS} rounds) |`,
);
console.log("|---|---|---|---|---|");
try {
  for (const length of SIZES) {
    const plain = new MemoryShareLock(`plain${length}`, {
      length,
      dir: dir.path,
    });
    const atomic = new MemoryShareLock(`atomic${length}`, {
      length,
      dir: dir.path,
      atomic: true,
    });
    const pairs = pairsFor(length);
    await batch(plain, pairs); // warm-up
    await batch(atomic, pairs);
    const a: number[] = [];
    const b: number[] = [];
    const ratios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const a1 = await batch(plain, pairs);
      const b1 = await batch(atomic, pairs);
      const b2 = await batch(atomic, pairs);
      const a2 = await batch(plain, pairs);
      a.push((a1 + a2) / 2);
      b.push((b1 + b2) / 2);
      ratios.push((b1 + b2) / (a1 + a2));
    }
    console.log(
      `| ${RUNTIME} | ${length} B | ${median(a).toFixed(0)} | ${
        median(b).toFixed(0)
      } | ${median(ratios).toFixed(2)}× |`,
    );
    await plain.close();
    await atomic.close();
  }
} finally {
  dir.remove();
}
