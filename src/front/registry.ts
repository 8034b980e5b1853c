/**
 * The per-realm registry that makes `MemoryShareLock` a singleton per data
 * file: one instance, one set of handles and one waiter queue per file.
 *
 * @module
 */

/** Instances by resolved data path (lower-cased on Windows, whose paths ignore case). */
export class Registry<T> {
  readonly #entries = new Map<string, T>();
  readonly #caseless: boolean;

  /** A registry; `caseless` for file systems that ignore case. */
  constructor(caseless: boolean) {
    this.#caseless = caseless;
  }

  #key(path: string): string {
    return this.#caseless ? path.toLowerCase() : path;
  }

  /** The instance for `path`, if any. */
  get(path: string): T | undefined {
    return this.#entries.get(this.#key(path));
  }

  /** Registers `value` for `path`. */
  set(path: string, value: T): void {
    this.#entries.set(this.#key(path), value);
  }

  /** Forgets `path` if it still maps to `value`. */
  delete(path: string, value: T): void {
    if (this.get(path) === value) this.#entries.delete(this.#key(path));
  }
}
