/**
 * (d) Writing 4 KiB and 1 MiB through `guard.memory` (lock held) against
 * `Uint8Array.set` into plain (heap) memory, and, for context, into a raw
 * `MAP_SHARED` mapping of a file made with FFI mmap (no lock).
 *
 * @module
 */

import { join } from "node:path";
import { MemoryShareLock } from "../mod.ts";
import { mapFile } from "./libc.ts";
import { RUNTIME } from "./proc.ts";
import {
  type BatchOp,
  type BatchPlan,
  interleavedBatches,
  quantile,
} from "./stats.ts";
import type { Row } from "./table.ts";

const MiB = 1 << 20;

/** Measures the writes; `dir` is a scratch directory. */
export async function memory(dir: string, plan: BatchPlan): Promise<Row[]> {
  const lock = new MemoryShareLock("memory", { length: MiB, dir });
  const guard = lock.acquireSync();
  const plain = new Uint8Array(MiB);
  const mapped = new Uint8Array(mapFile(join(dir, "raw.map"), MiB));
  const rows: Row[] = [];

  for (const size of [4096, MiB]) {
    const source = new Uint8Array(size);
    for (let i = 0; i < size; i++) source[i] = (i * 131) & 255;
    const label = size === MiB ? "1 MiB" : "4 KiB";
    const names = {
      guard: `write ${label}: guard.memory.set()`,
      plain: `write ${label}: plain Uint8Array.set()`,
      mapped: `write ${label}: raw mmap Uint8Array.set()`,
    };
    const ops: BatchOp[] = [
      {
        name: names.plain,
        run(n) {
          for (let i = 0; i < n; i++) plain.set(source);
        },
      },
      {
        name: names.guard,
        run(n) {
          for (let i = 0; i < n; i++) guard.memory.set(source);
        },
      },
      {
        name: names.mapped,
        run(n) {
          for (let i = 0; i < n; i++) mapped.set(source);
        },
      },
    ];
    const { samples, sizes } = await interleavedBatches(ops, {
      ...plan,
      maxPerBatch: size === MiB ? 200 : plan.maxPerBatch,
    });
    const rate = (name: string) =>
      size * 1e9 / quantile(samples.get(name)!, 0.5);
    const base = rate(names.plain);
    for (const op of ops) {
      const ns = quantile(samples.get(op.name)!, 0.5);
      const row: Row = {
        section: "memory",
        operation: op.name,
        runtime: RUNTIME,
        unit: "B/s",
        value: rate(op.name),
        notes: `${
          ns < 1e4 ? `${ns.toFixed(0)} ns` : `${(ns / 1e3).toFixed(1)} µs`
        } per write; ${samples.get(op.name)!.length} batches × ${
          sizes.get(op.name)
        }`,
      };
      if (op.name !== names.plain) {
        row.baseline = { name: "plain Uint8Array.set", value: base };
      }
      if (op.name === names.guard) row.target = { compare: ">=", ratio: 0.8 };
      rows.push(row);
    }
  }
  guard.releaseSync();
  await lock.close();
  return rows;
}
