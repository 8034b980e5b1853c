/**
 * A/B of two library trees in one process: the uncontended sync and async
 * pairs of each, interleaved in rounds (A B B A), so that machine noise hits
 * both alike. Prints the median over rounds of B's time ÷ A's.
 *
 * Usage (trees made with `git archive REV mod.ts src | tar -x -C DIR`):
 * `node_modules/.bin/deno run -A bench/ab.ts DIR_A DIR_B` or
 * `node_modules/.bin/bun bench/ab.ts DIR_A DIR_B`.
 *
 * @module
 */

import { resolve } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { RUNTIME, tempDir } from "./proc.ts";

interface Pairable {
  acquireSync(): { releaseSync(): void };
  acquire(): Promise<{ release(): Promise<void> }>;
  close(): Promise<void>;
}
type LockClass = new (
  name: string,
  options: { length: number; dir: string },
) => Pairable;

const ROUNDS = 21;
const WARMUP_ROUNDS = 3;
const PAIRS = 200_000;

function syncPairs(lock: Pairable): number {
  const start = performance.now();
  for (let i = 0; i < PAIRS; i++) lock.acquireSync().releaseSync();
  return performance.now() - start;
}

async function asyncPairs(lock: Pairable): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < PAIRS; i++) await (await lock.acquire()).release();
  return performance.now() - start;
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[values.length >> 1];
}

if (import.meta.main) {
  const [a, b] = process.argv.slice(2);
  if (a === undefined || b === undefined) {
    console.error("usage: bench/ab.ts DIR_A DIR_B (each holding mod.ts)");
    process.exit(2);
  }
  const load = async (dir: string) =>
    (await import(pathToFileURL(resolve(dir, "mod.ts")).href))
      .MemoryShareLock as LockClass;
  const [A, B] = [await load(a), await load(b)];
  const scratch = tempDir();
  try {
    const lockA = new A("a", { length: 64, dir: scratch.path });
    const lockB = new B("b", { length: 64, dir: scratch.path });
    const sync: number[] = [];
    const async: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const sa = syncPairs(lockA), sb = syncPairs(lockB);
      const sb2 = syncPairs(lockB), sa2 = syncPairs(lockA);
      const aa = await asyncPairs(lockA), ab = await asyncPairs(lockB);
      const ab2 = await asyncPairs(lockB), aa2 = await asyncPairs(lockA);
      if (round < WARMUP_ROUNDS) continue;
      sync.push((sb + sb2) / (sa + sa2));
      async.push((ab + ab2) / (aa + aa2));
    }
    await lockA.close();
    await lockB.close();
    console.log(
      `${RUNTIME}: B ÷ A over ${ROUNDS - WARMUP_ROUNDS} rounds (median): ` +
        `sync pair ${median(sync).toFixed(3)}, async pair ${
          median(async).toFixed(3)
        }`,
    );
  } finally {
    scratch.remove();
  }
}
