/**
 * Random choices for the stress test: uniform numbers, coin flips and
 * weighted picks (Math.random: runs are not meant to be replayed — process
 * timing decides far more than the seed would).
 *
 * @module
 */

/** A uniform number in [low, high). */
export function between(low: number, high: number): number {
  return low + Math.random() * (high - low);
}

/** True with probability `p`. */
export function chance(p: number): boolean {
  return Math.random() < p;
}

/** One of the keys of `weights`, with probability proportional to its weight. */
export function pick<K extends string>(weights: Record<K, number>): K {
  const entries = Object.entries(weights) as [K, number][];
  let left = Math.random() * entries.reduce((sum, [, w]) => sum + w, 0);
  for (const [key, weight] of entries) {
    left -= weight;
    if (left < 0) return key;
  }
  return entries[entries.length - 1][0];
}

/** An exponentially distributed delay with the given mean (for kill times). */
export function exponential(mean: number): number {
  return -mean * Math.log(1 - Math.random());
}
