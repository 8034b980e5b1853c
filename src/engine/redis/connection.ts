/**
 * One realm's connections to one Redis server (or Cluster), shared by
 * every lock on it: a command connection (scripts, heartbeats, renewals)
 * and, while anything waits, blocking connections whose `BLPOP` watches
 * the waiting locks' mailboxes. On a single server one blocking
 * connection serves every lock. On a Cluster (found at connect time) a
 * `BLPOP` stays within one slot, so there is one blocking connection per
 * slot with waiters, at most `MAX_WATCHED_SLOTS`; a lock in a slot past
 * that bound is not watched and learns of its grant from its heartbeat
 * instead (see `CLAIM`): slower, never lost.
 *
 * @module
 */

import { createCluster, TimeoutError } from "@redis/client";
import { hostname } from "node:os";
import { setTimeout as nodeTimeout } from "node:timers";
import {
  BINARY,
  type Client,
  type Cluster,
  CONNECT_TIMEOUT_MS,
  destroy,
  keySlot,
  newClient,
  reconnectStrategy,
  type Reply,
  text,
  tlsOptions,
  wire,
  wireOne,
} from "./client.ts";
import { RedisConnectionError } from "./errors.ts";
import { type MailHandler, MailWatcher } from "./mail_watcher.ts";
import { hashScripts, type Script } from "./scripts.ts";
import { type RedisUrl, serverIdentity } from "./url.ts";

export { type Reply, text } from "./client.ts";
export type { MailHandler } from "./mail_watcher.ts";

/** Most blocking connections a realm opens to one Cluster (one per slot with waiters). */
export const MAX_WATCHED_SLOTS = 16;

/** How often the hub looks for commands past their timeout (see `RedisHub.command`). */
const SWEEP_MS = 50;

/** A command in flight on a ready connection: when it must answer by, how it fails. */
type Deadline = { readonly at: number; readonly fail: () => void };

const hubs = new Map<string, RedisHub>();

interface DenoPermissions {
  permissions: {
    querySync(descriptor: { name: "sys"; kind: "hostname" }): {
      state: string;
    };
  };
}

/**
 * This machine's name, or `null` when Deno was not given
 * `--allow-sys=hostname` (asked first, so a terminal never prompts).
 */
function machineName(): string | null {
  const deno = (globalThis as { Deno?: DenoPermissions }).Deno;
  try {
    if (
      deno !== undefined &&
      deno.permissions.querySync({ name: "sys", kind: "hostname" }).state !==
        "granted"
    ) return null;
    return hostname();
  } catch {
    return null;
  }
}

/**
 * The shared connections to one server (per realm). `RedisHub.use(url)`
 * counts a user; `unuse()` closes the connections after the last one.
 *
 * @example
 * ```ts ignore
 * const hub = RedisHub.use(url);
 * await hub.ready();
 * const reply = await hub.run(SCRIPTS.info, keys, [prefix]);
 * await hub.unuse();
 * ```
 */
export class RedisHub {
  /** The server's URL (password masked) for messages. */
  readonly url: RedisUrl;
  #users = 0;
  #client: Client | null = null;
  #cluster: Cluster | null = null;
  #connecting: Promise<void> | null = null;
  #host = "";
  readonly #process = crypto.randomUUID();
  /** Watchers by slot (one, slot -1, on a single server). */
  readonly #watchers = new Map<number, MailWatcher>();
  #closed = false;
  /** Commands sent on a ready connection that have a timeout (see `command`). */
  readonly #deadlines = new Set<Deadline>();
  #sweeping = false;

  private constructor(url: RedisUrl) {
    this.url = url;
  }

  /** The hub for `url` in this realm, counted as one more user. */
  static use(url: RedisUrl): RedisHub {
    const key = serverIdentity(url);
    let hub = hubs.get(key);
    if (hub === undefined || hub.#closed) {
      hub = new RedisHub(url);
      hubs.set(key, hub);
    }
    hub.#users++;
    return hub;
  }

  /** Whether the server is a Redis Cluster (known once `ready()`). */
  get isCluster(): boolean {
    return this.#cluster !== null;
  }

  /** One user less; the last one closes the connections. */
  async unuse(): Promise<void> {
    if (--this.#users > 0) return;
    this.#closed = true;
    const key = serverIdentity(this.url);
    if (hubs.get(key) === this) hubs.delete(key);
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
    await this.#connecting?.catch(() => {});
    const client = this.#client ?? this.#cluster;
    this.#client = this.#cluster = null;
    if (client === null) return;
    if ("isReady" in client && !client.isReady) return destroy(client);
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

  async #connect(): Promise<void> {
    await hashScripts();
    const client = newClient(this.url);
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
    const name = machineName();
    if (name !== null) this.#host = name;
    else { // Deno without --allow-sys=hostname: the address the server sees
      const info = text(await this.command(["CLIENT", "INFO"]));
      this.#host = /\baddr=(\S+):\d+/.exec(info)?.[1] ?? "unknown";
    }
    const info = text(await this.command(["INFO", "cluster"]));
    if (/cluster_enabled:1/.test(info)) await this.#connectCluster(client);
  }

  /** Replaces the standalone connection by a Cluster client. */
  async #connectCluster(client: Client): Promise<void> {
    const u = new URL(this.url.url);
    let connected = false;
    const cluster = createCluster({
      rootNodes: [{ url: this.url.url }],
      defaults: {
        username: decodeURIComponent(u.username) || undefined,
        password: decodeURIComponent(u.password) || undefined,
        socket: {
          ...tlsOptions(this.url),
          connectTimeout: CONNECT_TIMEOUT_MS,
          reconnectStrategy: reconnectStrategy(this.url, () => connected),
        },
      },
    }) as unknown as Cluster;
    cluster.on("error", () => {});
    try {
      await cluster.connect();
      connected = true;
    } catch (error) {
      destroy(cluster);
      throw this.#wrap(error, "cannot connect to the cluster");
    }
    this.#cluster = cluster;
    this.#client = null;
    await client.close().catch(() => destroy(client));
  }

  /** A client error as a `RedisConnectionError` naming the URL (masked). */
  #wrap(error: unknown, what: string): Error {
    if (error instanceof RedisConnectionError) return error;
    // node-redis wraps what our reconnect strategy returned (a
    // ReconnectStrategyError's originalError): unwrap it, not name it twice.
    const original = (error as { originalError?: unknown } | null)
      ?.originalError;
    if (original instanceof RedisConnectionError) return original;
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
   * Sends one command; on a Cluster to the node of `key`. With `timeout`
   * (ms) it rejects once that passes (a command held while the client
   * reconnects included).
   */
  command(
    args: (string | Uint8Array)[],
    timeout?: number,
    key?: string,
  ): Promise<Reply> {
    return this.#send(wire(args), timeout, key);
  }

  /** `command` with the arguments as the client writes them. */
  async #send(args: string[], timeout?: number, key?: string): Promise<Reply> {
    const client = this.#client;
    if (timeout !== undefined && client?.isReady === true) {
      const sent = client.sendCommand(args, { typeMapping: BINARY });
      return this.#bounded(sent, timeout, args[0]);
    }
    const options = { typeMapping: BINARY, timeout };
    try {
      if (this.#cluster !== null) {
        return await this.#cluster.sendCommand(
          key,
          false,
          args,
          options,
        ) as Reply;
      }
      if (this.#client === null) {
        throw new RedisConnectionError(this.url.masked, "not connected");
      }
      return await this.#client.sendCommand(args, options) as Reply;
    } catch (error) {
      throw this.#wrap(error, `${args[0]} failed`);
    }
  }

  /**
   * `sent`, rejected once `timeout` ms pass (give or take `SWEEP_MS`): one
   * sweeping timer for every command in flight on a ready connection, not
   * the client's timer per command (which outlives the reply). A command
   * sent while not ready gets the client's timeout (held for a reconnect).
   */
  #bounded(
    sent: Promise<unknown>,
    timeout: number,
    name: string | Uint8Array,
  ): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const deadline: Deadline = {
        at: performance.now() + timeout,
        fail: () =>
          reject(this.#wrap(
            new TimeoutError(`no reply within ${timeout} ms`),
            `${String(name)} failed`,
          )),
      };
      this.#deadlines.add(deadline);
      if (!this.#sweeping) this.#sweep();
      sent.then((reply) => {
        this.#deadlines.delete(deadline);
        resolve(reply as Reply);
      }, (error) => {
        this.#deadlines.delete(deadline);
        reject(this.#wrap(error, `${String(name)} failed`));
      });
    });
  }

  /** Fails the commands past their deadline; runs while any is in flight (an unref'd timer). */
  #sweep(): void {
    this.#sweeping = true;
    nodeTimeout(() => {
      const now = performance.now();
      for (const deadline of this.#deadlines) {
        if (deadline.at > now) continue;
        this.#deadlines.delete(deadline);
        deadline.fail();
      }
      if (this.#deadlines.size > 0) this.#sweep();
      else this.#sweeping = false;
    }, SWEEP_MS).unref();
  }

  /** Runs a script by `EVALSHA`, loading it by `EVAL` when the server lacks it; `timeout` as `command`'s. */
  async run(
    script: Script,
    keys: readonly string[],
    args: (string | Uint8Array)[],
    timeout?: number,
  ): Promise<Reply> {
    // One array, wired as it is built (no spreads, no second pass).
    const wired = ["EVALSHA", script.sha, String(keys.length), ...keys];
    for (const arg of args) wired.push(wireOne(arg));
    try {
      return await this.#send(wired, timeout, keys[0]);
    } catch (error) {
      if (!String((error as Error).message).includes("NOSCRIPT")) throw error;
      wired[0] = "EVAL";
      wired[1] = script.source;
      return await this.#send(wired, timeout, keys[0]);
    }
  }

  /**
   * Starts watching mailbox `key` (`handler` gets what is pushed there);
   * false when it cannot be watched (a Cluster slot past the bound).
   */
  watch(key: string, handler: MailHandler): boolean {
    const slot = this.#cluster === null ? -1 : keySlot(key);
    let watcher = this.#watchers.get(slot);
    if (watcher === undefined) {
      if (this.#watchers.size >= MAX_WATCHED_SLOTS) return false;
      const tag = slot === -1
        ? ""
        : `{${key.slice(key.indexOf("{") + 1, key.indexOf("}"))}}`;
      watcher = new MailWatcher(
        () => this.#blockingClient(key),
        `memshare:${tag}:wake:${this.#process}`,
        (wakeKey) =>
          this.command(["RPUSH", wakeKey, "1"], 5_000, wakeKey).then(() =>
            this.command(["PEXPIRE", wakeKey, "60000"], 5_000, wakeKey)
          ),
      );
      this.#watchers.set(slot, watcher);
    }
    watcher.watch(key, handler);
    return true;
  }

  /** Stops watching `key`. */
  unwatch(key: string): void {
    const slot = this.#cluster === null ? -1 : keySlot(key);
    const watcher = this.#watchers.get(slot);
    if (watcher === undefined) return;
    watcher.unwatch(key);
    if (watcher.size === 0 && slot !== -1) {
      watcher.close();
      this.#watchers.delete(slot);
    }
  }

  /** A new connection for blocking: to the server, or to the master of `key`'s slot. */
  async #blockingClient(key: string): Promise<Client> {
    let url = this.url.url;
    if (this.#cluster !== null) {
      const master = this.#cluster.slots[keySlot(key)]?.master;
      if (master === undefined) throw new Error("no master for the slot");
      const u = new URL(url);
      u.hostname = master.host;
      u.port = String(master.port);
      url = u.href;
    }
    const client = newClient(this.url, url);
    try {
      await client.connect();
    } catch (error) {
      destroy(client);
      throw error;
    }
    return client;
  }
}
