/**
 * The desktop example's paths and what the bots report about them.
 *
 * @module
 */

import type { Point } from "./xlib.ts";

/** The shapes a bot can drag along. */
export type Shape = "square" | "circle" | "triangle";

/**
 * One step of a drag: where the bot put the pointer (x, y) and where it
 * found it when it read it back (found x, found y).
 */
export type Step = [x: number, y: number, foundX: number, foundY: number];

/** One drag: its steps, and when it began and ended (ms since the epoch). */
export interface Drag {
  /** When the first step was made. */
  start: number;
  /** When the last read-back was done. */
  end: number;
  /** Every step, in order. */
  steps: Step[];
}

/** What a bot reports when it is done. */
export interface BotResult {
  /** `bot-1` ... */
  readonly bot: string;
  /** The runtime that ran it. */
  readonly runtime: "deno" | "bun";
  /** Its process id. */
  readonly pid: number;
  /** The shape it dragged along. */
  readonly shape: Shape;
  /** `lock`, or `nolock` for the control run. */
  readonly mode: "lock" | "nolock";
  /** Its drags, in order. */
  readonly drags: Drag[];
}

/** Whether a step found the pointer somewhere other than where the bot put it. */
export const disturbed = (step: Step): boolean =>
  step[0] !== step[2] || step[1] !== step[3];

/** `steps` points (whole pixels) around `shape`, centred on `centre`, `radius` from it, closing the loop. */
export function pathPoints(
  shape: Shape,
  centre: Point,
  radius: number,
  steps: number,
): Point[] {
  const corners = shape === "square"
    ? 4
    : shape === "triangle"
    ? 3
    : shape === "circle"
    ? 0
    : unknownShape(shape);
  const points: Point[] = [];
  for (let i = 0; i <= steps; i++) {
    const t = i / steps; // 0..1 around the loop
    let x: number;
    let y: number;
    if (corners === 0) {
      const angle = 2 * Math.PI * t - Math.PI / 2;
      [x, y] = [Math.cos(angle), Math.sin(angle)];
    } else {
      // Along the polygon's edges, at even speed.
      const vertex = (k: number) => {
        const angle = 2 * Math.PI * (k / corners) -
          (corners === 4 ? Math.PI * 3 / 4 : Math.PI / 2);
        return [Math.cos(angle), Math.sin(angle)];
      };
      const along = t * corners;
      const k = Math.min(Math.floor(along), corners - 1);
      const [ax, ay] = vertex(k);
      const [bx, by] = vertex(k + 1);
      const f = along - k;
      [x, y] = [ax + (bx - ax) * f, ay + (by - ay) * f];
    }
    points.push({
      x: Math.round(centre.x + radius * x),
      y: Math.round(centre.y + radius * y),
    });
  }
  return points;
}

function unknownShape(shape: string): never {
  throw new Error(`unknown shape ${JSON.stringify(shape)}`);
}
