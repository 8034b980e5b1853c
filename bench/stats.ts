/**
 * Statistics and the batch runner: operations measured in interleaved
 * batches (batch i of every operation before batch i+1 of any), so a noisy
 * moment on the machine hits all of them alike.
 *
 * @module
 */

/** The `q`-quantile (0..1) of `values`, linearly interpolated. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/** One operation measured in batches: `run(n)` does it `n` times. */
export interface BatchOp {
  /** Name, used as the key of the result. */
  readonly name: string;
  /** Runs the operation `n` times. */
  run(n: number): void | Promise<void>;
}

/** How many batches, and how large. */
export interface BatchPlan {
  /** Number of measured batches per operation. */
  readonly batches: number;
  /** Most iterations per batch. */
  readonly maxPerBatch: number;
  /** Batch size is chosen so that one batch takes about this long (ms), up to `maxPerBatch`. */
  readonly targetBatchMs: number;
}

async function timed(op: BatchOp, n: number): Promise<number> {
  const start = performance.now();
  const pending = op.run(n);
  if (pending !== undefined) await pending;
  return (performance.now() - start) * 1e6 / n;
}

/**
 * Runs every op in interleaved batches after a warm-up and a calibration;
 * returns, per op name, the mean ns per iteration of each batch and the
 * batch size.
 */
export async function interleavedBatches(
  ops: readonly BatchOp[],
  plan: BatchPlan,
): Promise<{ samples: Map<string, number[]>; sizes: Map<string, number> }> {
  const sizes = new Map<string, number>();
  for (const op of ops) {
    await timed(op, Math.min(500, plan.maxPerBatch));
    const ns = await timed(op, Math.min(2000, plan.maxPerBatch));
    const n = Math.round(plan.targetBatchMs * 1e6 / ns);
    sizes.set(op.name, Math.min(plan.maxPerBatch, Math.max(200, n)));
  }
  const samples = new Map<string, number[]>(ops.map((op) => [op.name, []]));
  for (let batch = 0; batch < plan.batches; batch++) {
    for (let k = 0; k < ops.length; k++) {
      const op = ops[(batch + k) % ops.length]; // rotate who goes first
      samples.get(op.name)!.push(await timed(op, sizes.get(op.name)!));
    }
  }
  return { samples, sizes };
}
