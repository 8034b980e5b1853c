/**
 * One blocking connection whose `BLPOP` watches many mailboxes at once
 * (all in one Cluster slot, or anywhere on a single server), plus a wake-up
 * key of its own in the same slot, so that a newly watched mailbox joins
 * the watch at once.
 *
 * @module
 */

import { BINARY, type Client, destroy, type Reply, text } from "./client.ts";

/** A mailbox watcher: gets each message popped from its key. */
export type MailHandler = (message: Uint8Array) => void;

/** The longest a `BLPOP` blocks before it is reissued. */
const BLOCK_SECONDS = 5;

/**
 * Watches mailboxes over one blocking connection, made on first use by
 * `connect`; `wake` pushes to the wake-up key through a command connection.
 *
 * @example
 * ```ts ignore
 * const watcher = new MailWatcher(connect, "memshare:{x}:wake:1", wake);
 * watcher.watch("memshare:{x}:mb:1.1", (message) => granted(message));
 * ```
 */
export class MailWatcher {
  /** The wake-up key (same slot as the mailboxes). */
  readonly wakeKey: string;
  readonly #connect: () => Promise<Client>;
  readonly #wake: (key: string) => Promise<unknown>;
  readonly #boxes = new Map<string, MailHandler>();
  #blocker: Client | null = null;
  #looping = false;
  #blocking = false;
  #closed = false;

  /** A watcher; connects on the first `watch`. */
  constructor(
    connect: () => Promise<Client>,
    wakeKey: string,
    wake: (key: string) => Promise<unknown>,
  ) {
    this.#connect = connect;
    this.wakeKey = wakeKey;
    this.#wake = wake;
  }

  /** How many mailboxes it watches. */
  get size(): number {
    return this.#boxes.size;
  }

  /** Starts watching mailbox `key`: `handler` gets what is pushed there. */
  watch(key: string, handler: MailHandler): void {
    this.#boxes.set(key, handler);
    if (!this.#looping) {
      this.#looping = true;
      void this.#loop();
    } else if (this.#blocking) {
      // Breaks the current BLPOP so that the next one includes `key`.
      void this.#wake(this.wakeKey).catch(() => {});
    }
  }

  /** Stops watching `key`. */
  unwatch(key: string): void {
    this.#boxes.delete(key);
  }

  /** Drops the blocking connection. */
  close(): void {
    this.#closed = true;
    if (this.#blocker !== null) destroy(this.#blocker);
    this.#blocker = null;
  }

  async #loop(): Promise<void> {
    let failures = 0;
    const pause = () =>
      new Promise((resolve) =>
        setTimeout(resolve, Math.min(100 * failures, 1_000))
      );
    try {
      while (this.#boxes.size > 0 && !this.#closed) {
        if (this.#blocker === null) {
          try {
            this.#blocker = await this.#connect();
          } catch {
            failures++;
            await pause();
            continue;
          }
          if (this.#closed) {
            destroy(this.#blocker);
            return;
          }
        }
        const keys = [...this.#boxes.keys()];
        let reply: Reply;
        this.#blocking = true;
        try {
          reply = await this.#blocker.sendCommand(
            ["BLPOP", this.wakeKey, ...keys, String(BLOCK_SECONDS)],
            { typeMapping: BINARY },
          ) as Reply;
          failures = 0;
        } catch {
          if (this.#closed) return;
          if (++failures > 10 && this.#blocker !== null) {
            destroy(this.#blocker);
            this.#blocker = null;
          }
          await pause();
          continue;
        } finally {
          this.#blocking = false;
        }
        if (Array.isArray(reply) && reply.length === 2) {
          const key = text(reply[0]);
          if (key !== this.wakeKey) {
            this.#boxes.get(key)?.(reply[1] as Uint8Array);
          }
        }
      }
    } finally {
      this.#looping = false;
      if (this.#boxes.size > 0 && !this.#closed) {
        this.#looping = true;
        void this.#loop();
      }
    }
  }
}
