/**
 * `status --redis URL` and `watch --redis URL`: every memshare lock kept on
 * a Redis server, with its holder, lease, waiters and token, read by a
 * read-only script (`listRedisLocks`); no lock is ever taken. Loaded by
 * `main.ts` with a dynamic `import()` only when `--redis` is given, so the
 * core CLI never loads the Redis client (nor needs Deno's `--allow-net`).
 *
 * The password of the URL is written as `***` in every line printed,
 * errors included.
 *
 * @module
 */

import process from "node:process";
import {
  keepRedisConnection,
  listRedisLocks,
  type RedisLockStatus,
} from "../engine/redis/status.ts";
import { parseRedisUrl, type RedisUrl } from "../engine/redis/url.ts";
import { CliError, isPermissionError, maskUrls } from "./errors.ts";
import { formatDuration } from "./format.ts";
import { type Column, renderTable } from "./table.ts";
import { watch } from "./watch.ts";

/** Where the output goes (the CLI's `Io`). */
export interface RedisIo {
  /** Standard output. */
  out(text: string): void;
  /** Whether standard output is a terminal. */
  readonly isTTY: boolean;
  /** The terminal's width, when it is one. */
  readonly columns?: number;
}

/** What to do: `status` (once, table or JSON) or `watch` (every `interval` ms). */
export type RedisCommand =
  | {
    readonly command: "status";
    readonly redis: string;
    readonly json: boolean;
  }
  | {
    readonly command: "watch";
    readonly redis: string;
    readonly interval: number;
  };

/** One lock in `status --redis URL --json` output. */
export interface RedisLockJson {
  /** The lock's name. */
  readonly name: string;
  /** Whether a holder's lease runs. */
  readonly locked: boolean;
  /** The holder (`since` as ISO 8601, server time), or `null`. */
  readonly holder: {
    readonly host: string;
    readonly pid: number;
    readonly tag: string;
    readonly since: string;
    readonly leaseLeftMs: number;
  } | null;
  /** Waiters queued with a live heartbeat. */
  readonly waiting: number;
  /** How many times it was granted. */
  readonly acquisitions: number;
  /** How many holders lost their lease while holding it. */
  readonly recoveries: number;
  /** The last fencing token handed out (0: never). */
  readonly token: number;
}

/** How long one look may take before it is reported as an error. */
const LOOK_TIMEOUT_MS = 8_000;

/** Runs `command` against its server; throws `CliError` (password masked) on a problem. */
export async function runRedis(
  command: RedisCommand,
  io: RedisIo,
): Promise<void> {
  let url: RedisUrl;
  try {
    url = parseRedisUrl(command.redis, "--redis");
  } catch (error) {
    throw new CliError(mask(describe(error), command.redis));
  }
  const look = () =>
    withTimeout(listRedisLocks(url), url).catch((error) => {
      throw explain(error, url);
    });

  if (command.command === "status") {
    const locks = await look();
    io.out(
      `${
        command.json
          ? JSON.stringify(toRedisJson(locks), null, 2)
          : formatRedisTable(url.masked, locks, Date.now())
      }\n`,
    );
    return;
  }

  // One connection for the whole watch, not one per frame.
  const letGo = keepRedisConnection(url);
  const stop = new AbortController();
  const abort = () => stop.abort();
  process.on("SIGINT", abort);
  process.on("SIGTERM", abort);
  try {
    await look(); // An unreachable server is reported once, as an error.
    const footer = `\nevery ${command.interval} ms; Ctrl-C to stop`;
    await watch(
      () =>
        look().then(
          (locks) => formatRedisTable(url.masked, locks, Date.now()) + footer,
          // The server may come back: keep watching.
          (error) => `memshare: ${describe(error)}${footer}`,
        ),
      command.interval,
      {
        write: io.out,
        isTTY: io.isTTY,
        get columns() {
          return io.columns;
        },
      },
      stop.signal,
    );
  } finally {
    process.off("SIGINT", abort);
    process.off("SIGTERM", abort);
    await letGo();
  }
}

/** The `--json` form: one object per lock, times as ISO strings. */
export function toRedisJson(
  locks: readonly RedisLockStatus[],
): RedisLockJson[] {
  return locks.map((lock) => ({
    name: lock.name,
    locked: lock.locked,
    holder: lock.holder === null ? null : {
      host: lock.holder.host,
      pid: lock.holder.pid,
      tag: lock.holder.tag,
      since: lock.holder.since.toISOString(),
      leaseLeftMs: lock.holder.leaseLeftMs,
    },
    waiting: lock.waiting,
    acquisitions: lock.acquisitions,
    recoveries: lock.recoveries,
    token: lock.token,
  }));
}

const COLUMNS: readonly Column[] = [
  { title: "NAME" },
  { title: "LOCKED" },
  { title: "HOST" },
  { title: "PID", align: "right" },
  { title: "TAG" },
  { title: "SINCE" },
  { title: "LEASE LEFT", align: "right" },
  { title: "WAITING", align: "right" },
  { title: "TOKEN", align: "right" },
  { title: "ACQUIRED", align: "right" },
  { title: "RECOVERED", align: "right" },
];

/** The table of the locks on server `masked` (its URL, password masked), looked at `at`. */
export function formatRedisTable(
  masked: string,
  locks: readonly RedisLockStatus[],
  at: number,
): string {
  const held = locks.filter((lock) => lock.locked).length;
  const title = `memshare locks on ${masked}: ${locks.length} lock${
    locks.length === 1 ? "" : "s"
  }, ${held} held (${clock(at)})`;
  if (locks.length === 0) return `${title}\n  (none)`;
  const rows = locks.map((lock) => {
    const h = lock.holder;
    return [
      lock.name,
      lock.locked ? "yes" : "no",
      h === null ? "-" : h.host,
      h === null ? "-" : String(h.pid),
      h === null ? "-" : h.tag === "" ? '""' : h.tag,
      // The server's clock, shown in local time: displayed, never compared.
      h === null ? "-" : clock(h.since.getTime()),
      h === null ? "-" : formatDuration(h.leaseLeftMs),
      String(lock.waiting),
      String(lock.token),
      String(lock.acquisitions),
      String(lock.recoveries),
    ];
  });
  return `${title}\n${renderTable(COLUMNS, rows, "  ")}`;
}

/** `promise`, or a `CliError` once `LOOK_TIMEOUT_MS` passed. */
function withTimeout<T>(promise: Promise<T>, url: RedisUrl): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new CliError(
            `Redis server ${url.masked}: no answer within ${LOOK_TIMEOUT_MS} ms`,
          ),
        ),
      LOOK_TIMEOUT_MS,
    );
  });
  promise.catch(() => {}); // settles after the timeout: nobody waits for it
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Any failure of a look as a one-line `CliError`, password masked. */
function explain(error: unknown, url: RedisUrl): Error {
  if (permissionDenial(error) !== null) {
    return new CliError(
      mask(
        `Deno denied network access to ${url.masked}; run it as: deno run --allow-net cli.ts … --redis URL`,
        url.url,
      ),
    );
  }
  if (error instanceof CliError) {
    return new CliError(mask(error.message, url.url));
  }
  const message = once(describe(error), `Redis server ${url.masked}: `);
  return new CliError(
    mask(
      message.includes(url.masked)
        ? message
        : `Redis server ${url.masked}: ${message}`,
      url.url,
    ),
  );
}

/**
 * `message` with a doubled head said once: the client's error may come
 * wrapped twice in the same words (`HEAD cannot connect: HEAD cannot
 * connect: reason`).
 */
function once(message: string, head: string): string {
  if (!message.startsWith(head)) return message;
  const what = /^[^:]*: /.exec(message.slice(head.length))?.[0];
  if (what === undefined) return message;
  const rest = message.slice(head.length + what.length);
  return rest.startsWith(head + what) ? rest : message;
}

/** A Deno permission error in `error` or its causes (Deno without `--allow-net`), or `null`. */
function permissionDenial(error: unknown): Error | null {
  let e: unknown = error;
  for (let i = 0; e instanceof Error && i < 10; i++) {
    if (/Requires net access/.test(e.message) || isPermissionError(e)) {
      return e;
    }
    e = (e as Error).cause;
  }
  return null;
}

/** `text` with the URL `raw` (and its password) never shown. */
function mask(text: string, raw: string): string {
  let masked = text;
  let password = "";
  try {
    password = new URL(raw).password;
  } catch {
    // not a URL: maskUrls below covers what looks like one
  }
  if (password !== "") {
    const forms = new Set([password]);
    try {
      forms.add(decodeURIComponent(password));
    } catch {
      // not percent-encoded
    }
    for (const form of forms) {
      // The password written anywhere; very short ones only where they sit in a URL.
      masked = form.length >= 4
        ? masked.replaceAll(form, "***")
        : masked.replaceAll(`:${form}@`, ":***@");
    }
  }
  return maskUrls(masked);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}

/** Local wall-clock time, `HH:MM:SS`. */
function clock(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 8);
}
