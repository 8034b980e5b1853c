/**
 * One process's connections to one Redis server, shared by every lock on
 * it: a command connection (scripts, heartbeats, renewals) and, while
 * anything waits, one blocking connection whose `BLPOP` watches every
 * waiting lock's mailbox at once (plus a wake-up key of this process, so
 * a newly waiting lock joins the watch at once).
 *
 * @module
 */

import { createClient, RESP_TYPES } from "@redis/client";
import { Buffer } from "node:buffer";
import { hostname } from "node:os";
import { RedisConnectionError } from "./errors.ts";
import { hashScripts, type Script } from "./scripts.ts";
import type { RedisUrl } from "./url.ts";

/** What the client returns once bulk strings map to `Uint8Array`s. */
export type Reply = null | number | Uint8Array | Reply[];

/** Bulk strings as `Buffer`s (a `Uint8Array`): the shared bytes are binary. */
const BINARY = { [RESP_TYPES.BLOB_STRING]: Buffer } as const;

/** How long connecting may take before it is an error. */
const CONNECT_TIMEOUT_MS = 5_000;
/** The longest a `BLPOP` blocks before it is reissued. */
const BLOCK_SECONDS = 5;

// deno-lint-ignore no-explicit-any
type Client = ReturnType<typeof createClient<any, any, any, 2, any>>;

/** Decodes a reply that should be text. */
export function text(reply: Reply): string {
  if (reply instanceof Uint8Array) return new TextDecoder().decode(reply);
  return reply === null ? "" : String(reply);
}

/** Drops a client's socket; a client already closed is left as it is. */
function destroy(client: Client): void {
  try {
    if (client.isOpen) client.destroy();
  } catch {
    // closed meanwhile
  }
}

/** A mailbox watcher: gets each message popped from its key. */
export type MailHandler = (message: Uint8Array) => void;

const hubs = new Map<string, RedisHub>();

/**
 * The shared connections to one server (per realm). `RedisHub.use(url)`
 * counts a user; `unuse()` closes the connections after the last one.
 *
 * @example
 * ```ts ignore
 * const hub = RedisHub.use(url);
 * await hub.ready();
 * const reply = await hub.run(SCRIPTS.info, keys, [prefix]);
 * hub.unuse();
 * ```
 */
export class RedisHub {
  /** The server's URL (password masked) for messages. */
  readonly url: RedisUrl;
  #users = 0;
  #client: Client | null = null;
  #blocker: Client | null = null;
  #connecting: Promise<void> | null = null;
  #host = "";
  readonly #boxes = new Map<string, MailHandler>();
  readonly #wakeKey = `memshare:wake:${crypto.randomUUID()}`;
  #looping = false;
  #blocking = false;
  #closed = false;

  private constructor(url: RedisUrl) {
    this.url = url;
  }

  /** The hub for `url` in this realm, counted as one more user. */
  static use(url: RedisUrl): RedisHub {
    let hub = hubs.get(url.url);
    if (hub === undefined || hub.#closed) {
      hub = new RedisHub(url);
      hubs.set(url.url, hub);
    }
    hub.#users++;
    return hub;
  }

  /** One user less; the last one closes the connections. */
  async unuse(): Promise<void> {
    if (--this.#users > 0) return;
    this.#closed = true;
    if (hubs.get(this.url.url) === this) hubs.delete(this.url.url);
    const client = this.#client;
    const blocker = this.#blocker;
    this.#client = this.#blocker = null;
    await this.#connecting?.catch(() => {});
    if (blocker !== null) destroy(blocker);
    if (client === null) return;
    if (!client.isReady) return destroy(client); // reconnecting: nothing to flush
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      client.close().catch(() => {}),
      new Promise((resolve) => (timer = setTimeout(resolve, 1_000))),
    ]);
    clearTimeout(timer);
    destroy(client);
  }

  /** This machine's name (or, without the right to read it, our address as the server sees it). */
  get host(): string {
    return this.#host;
  }

  /** Connects once; rejects with `RedisConnectionError` naming the URL when it cannot. */
  ready(): Promise<void> {
    if (this.#connecting === null) {
      this.#connecting = this.#connect();
      this.#connecting.catch(() => (this.#connecting = null));
    }
    return this.#connecting;
  }

  #newClient(): Client {
    let connected = false;
    const client = createClient({
      url: this.url.url,
      socket: {
        connectTimeout: CONNECT_TIMEOUT_MS,
        reconnectStrategy: (retries: number, cause: Error) =>
          connected
            ? Math.min(50 * 2 ** retries, 1_000)
            : new RedisConnectionError(
              this.url.masked,
              `cannot connect: ${cause.message}`,
              cause,
            ),
      },
    });
    client.on("ready", () => (connected = true));
    client.on("error", () => {}); // reported through the commands that fail
    return client;
  }

  async #connect(): Promise<void> {
    await hashScripts();
    const client = this.#newClient();
    try {
      await client.connect();
    } catch (error) {
      destroy(client);
      throw this.#wrap(error, "cannot connect");
    }
    if (this.#closed) {
      destroy(client);
      throw new RedisConnectionError(this.url.masked, "closed");
    }
    this.#client = client;
    try {
      this.#host = hostname();
    } catch { // Deno without --allow-sys=hostname: the address the server sees
      const info = text(await this.command(["CLIENT", "INFO"]));
      this.#host = /\baddr=(\S+):\d+/.exec(info)?.[1] ?? "unknown";
    }
  }

  /** A client error as a `RedisConnectionError` naming the URL (masked); other errors pass. */
  #wrap(error: unknown, what: string): Error {
    if (error instanceof RedisConnectionError) return error;
    const message = error instanceof Error
      ? error.message || error.name
      : String(error);
    return new RedisConnectionError(
      this.url.masked,
      `${what}: ${message.replaceAll(this.url.url, this.url.masked)}`,
      error,
    );
  }

  /**
   * Sends one command on the command connection; with `timeout` (ms), it
   * rejects once that passes (a command held while the client reconnects
   * included).
   */
  async command(
    args: (string | Uint8Array)[],
    timeout?: number,
  ): Promise<Reply> {
    const client = this.#client;
    if (client === null) {
      throw new RedisConnectionError(this.url.masked, "not connected");
    }
    try {
      const wire = args.map((arg) =>
        typeof arg === "string" || Buffer.isBuffer(arg)
          ? arg
          : Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength)
      );
      return await client.sendCommand(wire as string[], {
        typeMapping: BINARY,
        timeout,
      }) as Reply;
    } catch (error) {
      throw this.#wrap(error, `${String(args[0])} failed`);
    }
  }

  /** Runs a script by `EVALSHA`, loading it by `EVAL` when the server lacks it; `timeout` as `command`'s. */
  async run(
    script: Script,
    keys: readonly string[],
    args: (string | Uint8Array)[],
    timeout?: number,
  ): Promise<Reply> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await this.command(["EVALSHA", script.sha, ...tail], timeout);
    } catch (error) {
      if (!String((error as Error).message).includes("NOSCRIPT")) throw error;
      return await this.command(["EVAL", script.source, ...tail], timeout);
    }
  }

  /** Starts watching mailbox `key`: `handler` gets what is pushed there. */
  watch(key: string, handler: MailHandler): void {
    this.#boxes.set(key, handler);
    if (!this.#looping) {
      this.#looping = true;
      void this.#loop();
    } else if (this.#blocking) {
      // Breaks the current BLPOP so that the next one includes `key`.
      void this.command(["RPUSH", this.#wakeKey, "1"]).then(
        () => this.command(["PEXPIRE", this.#wakeKey, "60000"]),
      ).catch(() => {});
    }
  }

  /** Stops watching `key`. */
  unwatch(key: string): void {
    this.#boxes.delete(key);
  }

  async #loop(): Promise<void> {
    let failures = 0;
    try {
      while (this.#boxes.size > 0 && !this.#closed) {
        if (this.#blocker === null) {
          const blocker = this.#newClient();
          try {
            await blocker.connect();
          } catch {
            destroy(blocker);
            failures++;
            await new Promise((resolve) =>
              setTimeout(resolve, Math.min(100 * failures, 1_000))
            );
            continue;
          }
          if (this.#closed) {
            destroy(blocker);
            return;
          }
          this.#blocker = blocker;
        }
        const keys = [...this.#boxes.keys()];
        let reply: Reply;
        this.#blocking = true;
        try {
          reply = await this.#blocker.sendCommand(
            ["BLPOP", this.#wakeKey, ...keys, String(BLOCK_SECONDS)],
            { typeMapping: BINARY },
          ) as Reply;
          failures = 0;
        } catch {
          if (this.#closed) return;
          if (++failures > 10) {
            if (this.#blocker !== null) destroy(this.#blocker);
            this.#blocker = null;
          }
          await new Promise((resolve) =>
            setTimeout(resolve, Math.min(100 * failures, 1_000))
          );
          continue;
        } finally {
          this.#blocking = false;
        }
        if (Array.isArray(reply) && reply.length === 2) {
          const key = text(reply[0]);
          if (key !== this.#wakeKey) {
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
