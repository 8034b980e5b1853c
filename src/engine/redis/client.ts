/**
 * The Redis client as the engine uses it: bulk strings as bytes, one way
 * to make a connection that fails fast when it never came up and
 * reconnects when it did, and the Cluster slot of a key.
 *
 * @module
 */

import { createClient, type createCluster, RESP_TYPES } from "@redis/client";
import { Buffer } from "node:buffer";
import { RedisConnectionError } from "./errors.ts";
import type { RedisUrl } from "./url.ts";

/** What the client returns once bulk strings map to `Uint8Array`s. */
export type Reply = null | number | Uint8Array | Reply[];

/** Bulk strings as `Buffer`s (a `Uint8Array`): the shared bytes are binary. */
export const BINARY = { [RESP_TYPES.BLOB_STRING]: Buffer } as const;

/** How long connecting may take before it is an error. */
export const CONNECT_TIMEOUT_MS = 5_000;

/** A standalone connection. */
// deno-lint-ignore no-explicit-any
export type Client = ReturnType<typeof createClient<any, any, any, 2, any>>;
/** A Redis Cluster client. */
// deno-lint-ignore no-explicit-any
export type Cluster = ReturnType<typeof createCluster<any, any, any, 2, any>>;

// One decoder for every reply: making one is dearer than decoding a key
// (each mail's BLPOP reply names its key).
const decoder = new TextDecoder();

/** Decodes a reply that should be text. */
export function text(reply: Reply): string {
  if (reply instanceof Uint8Array) return decoder.decode(reply);
  return reply === null ? "" : String(reply);
}

/** An argument as the client writes it (a `Buffer` for bytes). */
export function wireOne(arg: string | Uint8Array): string {
  return (typeof arg === "string" || Buffer.isBuffer(arg)
    ? arg
    : Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength)) as string;
}

/** Arguments as the client writes them (`Buffer`s for bytes). */
export function wire(args: (string | Uint8Array)[]): string[] {
  return args.map(wireOne);
}

/** Drops a client's socket; a client already closed is left as it is. */
export function destroy(client: Client | Cluster): void {
  try {
    if ("isOpen" in client && !client.isOpen) return;
    client.destroy();
  } catch {
    // closed meanwhile
  }
}

const CERTIFICATE_CODES = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
]);

/**
 * Why connecting to `url` failed: `cause`'s message, and for a server
 * certificate this side does not trust (no CA given) how to trust it.
 */
export function connectFailure(url: RedisUrl, cause: Error): string {
  const code = (cause as { code?: unknown }).code;
  const untrusted = (typeof code === "string" && CERTIFICATE_CODES.has(code)) ||
    /self[- ]signed certificate|unable to (verify|get) .*(certificate|issuer)/i
      .test(cause.message);
  const hint = url.tls && url.ca === undefined && untrusted
    ? " (a server certificate signed by a private CA needs that CA: RedisShareLock's tls: { ca } option, or NODE_EXTRA_CA_CERTS=/path/to/ca.pem in the environment, which status --redis honours too)"
    : "";
  return `cannot connect: ${cause.message}${hint}`;
}

/** The reconnect policy: fail at once if never connected, else back off up to 1 s. */
export function reconnectStrategy(
  url: RedisUrl,
  connected: () => boolean,
): (retries: number, cause: Error) => number | Error {
  return (retries, cause) =>
    connected() ? Math.min(50 * 2 ** retries, 1_000) : new RedisConnectionError(
      url.masked,
      connectFailure(url, cause),
      cause,
    );
}

/** The client's TLS socket options for `url` (none for `redis://`). */
export function tlsOptions(
  url: RedisUrl,
): { tls: true; ca?: string } | Record<never, never> {
  if (!url.tls) return {};
  return url.ca === undefined ? { tls: true } : { tls: true, ca: url.ca };
}

/**
 * A standalone connection to `url` (not yet connected), or to `href` (the
 * same server's URL with another host, a Cluster node's); errors name
 * `url.masked`.
 */
export function newClient(url: RedisUrl, href: string = url.url): Client {
  let connected = false;
  const client = createClient({
    url: href,
    socket: {
      ...tlsOptions(url),
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectStrategy: reconnectStrategy(url, () => connected),
    },
  });
  client.on("ready", () => (connected = true));
  client.on("error", () => {}); // reported through the commands that fail
  return client;
}

/** CRC16-XMODEM, as Redis Cluster hashes keys. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

/** The Cluster slot of `key` (its `{hash tag}` when it has one). */
export function keySlot(key: string): number {
  const open = key.indexOf("{");
  if (open >= 0) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(new TextEncoder().encode(key)) % 16384;
}
