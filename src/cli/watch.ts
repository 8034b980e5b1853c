/**
 * `watch`: redraws a frame every interval until stopped. On a terminal the
 * frame is redrawn in place (ANSI: cursor home, clear to end of line and
 * of screen — no full clear, so it does not flicker); into a pipe or file
 * frames are appended, separated by a blank line.
 *
 * @module
 */

/** Where frames go. */
export interface Screen {
  /** Writes text as is. */
  write(text: string): void;
  /** Whether it is a terminal (ANSI redraw) or not (append). */
  readonly isTTY: boolean;
  /** The terminal's width: longer lines are cut, since a wrapped line breaks the redraw. */
  readonly columns?: number;
}

const HOME = "\x1b[H";
const CLEAR_LINE = "\x1b[K";
const CLEAR_BELOW = "\x1b[J";
const CLEAR_SCREEN = "\x1b[2J";
const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";

/**
 * Draws `frame()` now and every `interval` ms after, until `stop` aborts.
 * `frame` may return a promise (a look over the network): the next frame is
 * scheduled once it is drawn, and a frame that settles after `stop` is not
 * drawn.
 */
export function watch(
  frame: () => string | Promise<string>,
  interval: number,
  screen: Screen,
  stop: AbortSignal,
): Promise<void> {
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const show = (text: string) => {
      if (stop.aborted) return;
      screen.write(
        screen.isTTY
          ? HOME + text.split("\n").map((line) => cut(line, screen.columns))
            .join(`${CLEAR_LINE}\n`) +
            CLEAR_LINE + CLEAR_BELOW
          : `${text}\n\n`,
      );
      // Scheduled after drawing, so a slow scan never piles up frames.
      timer = setTimeout(draw, interval);
    };
    const draw = () => {
      const text = frame();
      if (typeof text === "string") show(text);
      else void text.then(show, (error) => show(String(error)));
    };
    const finish = () => {
      clearTimeout(timer);
      if (screen.isTTY) screen.write(`${SHOW_CURSOR}\n`);
      resolve();
    };
    if (stop.aborted) return finish();
    stop.addEventListener("abort", finish, { once: true });
    if (screen.isTTY) screen.write(HIDE_CURSOR + CLEAR_SCREEN);
    draw();
  });
}

/** `line` cut to `columns` code points (the last one an ellipsis) when longer. */
function cut(line: string, columns: number | undefined): string {
  if (columns === undefined || columns < 2) return line;
  const chars = [...line];
  return chars.length <= columns
    ? line
    : chars.slice(0, columns - 1).join("") + "…";
}
