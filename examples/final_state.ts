/**
 * What the bots left on the desk, read under each lock after they exit,
 * and whether it adds up: the hooks' turn counts and the click counter must
 * match what the bots reported (a lost update would not), and no owner word
 * may be left set.
 *
 * @module
 */

import {
  activeWindow,
  clipboardText,
  closeDesk,
  DESK_LOCKS,
  type DeskLock,
  mouseState,
  openDesk,
  ownerOf,
  turnsOf,
} from "./desk.ts";

/** One lock's shared memory at the end. */
export interface LockState {
  /** The owner word (0 when no turn is open). */
  readonly owner: number;
  /** Turns the hooks counted. */
  readonly turns: number;
  /** Its contents, in words. */
  readonly contents: string;
}

/** The desk at the end. */
export interface FinalState {
  /** Each lock's memory. */
  readonly locks: Readonly<Record<DeskLock, LockState>>;
  /** The mouse's click counter. */
  readonly clicks: number;
}

/** Reads the desk in `dir`, taking each lock in turn (without the bots' hooks). */
export async function readFinalState(dir: string): Promise<FinalState> {
  const desk = openDesk(dir);
  try {
    let clicks = 0;
    const read = (lock: DeskLock) =>
      desk[lock].run((memory): LockState => {
        let contents: string;
        if (lock === "window") {
          contents = `front window ${JSON.stringify(activeWindow(memory))}`;
        } else if (lock === "mouse") {
          const mouse = mouseState(memory);
          clicks = mouse.clicks;
          contents =
            `${mouse.clicks} clicks, the last at (${mouse.x}, ${mouse.y})`;
        } else {
          const text = clipboardText(memory);
          contents = `holds ${JSON.stringify(text)} (${
            new TextEncoder().encode(text).length
          } bytes)`;
        }
        return { owner: ownerOf(memory), turns: turnsOf(memory), contents };
      });
    const locks = {
      window: await read("window"),
      mouse: await read("mouse"),
      clipboard: await read("clipboard"),
    };
    return { locks, clicks };
  } finally {
    await closeDesk(desk);
  }
}

/** One line per lock comparing memory with the bots' reports, and the problems found. */
export function checkFinalState(
  final: FinalState,
  reported: Readonly<Record<DeskLock, number>>,
): { lines: string[]; problems: string[] } {
  const lines: string[] = [];
  const problems: string[] = [];
  for (const lock of DESK_LOCKS) {
    const { owner, turns, contents } = final.locks[lock];
    const ok = turns === reported[lock];
    lines.push(
      `  ${lock.padEnd(9)}  ${
        String(turns).padStart(4)
      } turns counted by the hooks, ${reported[lock]} reported ${
        ok ? "✓" : "✗"
      }   ${contents}`,
    );
    if (!ok) {
      problems.push(
        `${lock}: the hooks counted ${turns} turns, the bots reported ${
          reported[lock]
        } (a lost update)`,
      );
    }
    if (owner !== 0) problems.push(`${lock}: owner word left at pid ${owner}`);
  }
  if (final.clicks !== reported.mouse) {
    problems.push(
      `mouse: ${final.clicks} clicks for ${reported.mouse} mouse turns (a lost update)`,
    );
  }
  return { lines, problems };
}
