/**
 * A small binding to libX11 and libXtst — just what the desktop example
 * needs to drive and read the pointer of an X display (a real X11 or
 * XWayland session, or Xvfb) — bound through memshare's runtime adapter,
 * so it runs on Deno (`--allow-ffi`) and Bun alike. No native build.
 *
 * This lives in examples/, not in the library: memshare itself has no X11
 * dependency.
 *
 * @module
 */

import {
  type ForeignInterface,
  type NativeFunction,
  type Pointer,
  runtime,
} from "../../src/ffi/runtime/runtime.ts";

/** The shared libraries, by their Debian/Ubuntu/Fedora sonames. */
const LIBX11 = "libX11.so.6";
const LIBXTST = "libXtst.so.6";

/** Window IDs are C `unsigned long` (XID): `usize` on 64-bit Linux. */
const X11_SYMBOLS: ForeignInterface = {
  XOpenDisplay: { parameters: ["buffer"], result: "pointer" },
  XCloseDisplay: { parameters: ["pointer"], result: "i32" },
  XDefaultScreen: { parameters: ["pointer"], result: "i32" },
  XDefaultRootWindow: { parameters: ["pointer"], result: "usize" },
  XDisplayWidth: { parameters: ["pointer", "i32"], result: "i32" },
  XDisplayHeight: { parameters: ["pointer", "i32"], result: "i32" },
  XFlush: { parameters: ["pointer"], result: "i32" },
  XSync: { parameters: ["pointer", "i32"], result: "i32" },
  XQueryPointer: {
    // display, window, *root, *child, *root_x, *root_y, *win_x, *win_y, *mask
    parameters: [
      "pointer",
      "usize",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
};

const XTST_SYMBOLS: ForeignInterface = {
  XTestQueryExtension: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  // display, screen (-1: the pointer's), x, y, delay (ms)
  XTestFakeMotionEvent: {
    parameters: ["pointer", "i32", "i32", "i32", "usize"],
    result: "i32",
  },
};

type Bound = Record<string, NativeFunction>;
// deno-lint-ignore no-explicit-any
type Call = (...args: any[]) => any;

let libraries: { x11: Bound; xtst: Bound } | undefined;

function load(): { x11: Bound; xtst: Bound } {
  if (libraries !== undefined) return libraries;
  try {
    libraries = {
      x11: runtime.open(LIBX11, X11_SYMBOLS),
      xtst: runtime.open(LIBXTST, XTST_SYMBOLS),
    };
  } catch (error) {
    throw new Error(
      `cannot load ${LIBX11} and ${LIBXTST} (Debian/Ubuntu: apt-get install libx11-6 libxtst6): ${
        (error as Error).message
      }`,
    );
  }
  return libraries;
}

const call = (lib: Bound, name: string): Call => lib[name] as unknown as Call;

/** A NUL-terminated C string. */
const cString = (text: string) => new TextEncoder().encode(`${text}\0`);

/** A point on the screen, in pixels from the top-left corner. */
export interface Point {
  /** Pixels from the left edge. */
  readonly x: number;
  /** Pixels from the top edge. */
  readonly y: number;
}

/** One connection to an X display: its pointer, moved through XTEST. */
export class XDisplay {
  readonly #display: Pointer;
  readonly #root: unknown;
  readonly #screen: number;
  readonly #x11: Bound;
  readonly #xtst: Bound;
  #closed = false;
  /** The default screen's width in pixels. */
  readonly width: number;
  /** The default screen's height in pixels. */
  readonly height: number;

  /** Opens display `name` (e.g. `:0`, `:99`); throws if it cannot, or if the server has no XTEST. */
  constructor(name: string) {
    const { x11, xtst } = load();
    this.#x11 = x11;
    this.#xtst = xtst;
    const display = call(x11, "XOpenDisplay")(cString(name));
    if (runtime.address(display) === 0n) {
      throw new Error(`cannot open X display ${JSON.stringify(name)}`);
    }
    this.#display = display;
    const ints = () => new Int32Array(1);
    if (
      !call(xtst, "XTestQueryExtension")(
        display,
        ints(),
        ints(),
        ints(),
        ints(),
      )
    ) {
      call(x11, "XCloseDisplay")(display);
      throw new Error(`X display ${name} has no XTEST extension`);
    }
    this.#screen = call(x11, "XDefaultScreen")(display);
    this.#root = call(x11, "XDefaultRootWindow")(display);
    this.width = call(x11, "XDisplayWidth")(display, this.#screen);
    this.height = call(x11, "XDisplayHeight")(display, this.#screen);
  }

  /**
   * Moves the pointer to `point` (XTestFakeMotionEvent) and waits until the
   * server has processed it (XSync), so a read-back afterwards sees it.
   */
  moveTo(point: Point): void {
    this.#open();
    call(this.#xtst, "XTestFakeMotionEvent")(
      this.#display,
      this.#screen,
      Math.round(point.x),
      Math.round(point.y),
      0,
    );
    call(this.#x11, "XSync")(this.#display, 0);
  }

  /** Where the pointer is now, on the root window (XQueryPointer). */
  pointer(): Point {
    this.#open();
    const windows = new BigUint64Array(2);
    const coordinates = new Int32Array(4);
    const mask = new Uint32Array(1);
    const window = (i: number) => windows.subarray(i, i + 1);
    const int = (i: number) => coordinates.subarray(i, i + 1);
    const onScreen = call(this.#x11, "XQueryPointer")(
      this.#display,
      this.#root,
      window(0),
      window(1),
      int(0),
      int(1),
      int(2),
      int(3),
      mask,
    );
    if (!onScreen) throw new Error("the pointer is on another screen");
    return { x: coordinates[0], y: coordinates[1] };
  }

  /** Flushes pending requests (XFlush). */
  flush(): void {
    this.#open();
    call(this.#x11, "XFlush")(this.#display);
  }

  /** Closes the connection (XCloseDisplay); later calls throw. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    call(this.#x11, "XCloseDisplay")(this.#display);
  }

  #open(): void {
    if (this.#closed) throw new Error("the X display is closed");
  }
}
