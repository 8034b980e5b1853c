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

/** Decodes a reply that should be text. */
export function text(reply: Reply): string {
  if (reply instanceof Uint8Array) return new TextDecoder().decode(reply);
  return reply === null ? "" : String(reply);
}

/** Arguments as the client writes them (`Buffer`s for bytes). */
export function wire(args: (string | Uint8Array)[]): string[] {
  return args.map((arg) =>
    typeof arg === "string" || Buffer.isBuffer(arg)
      ? arg
      : Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength)
  ) as string[];
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

/** The reconnect policy: fail at once if never connected, else back off up to 1 s. */
export function reconnectStrategy(
  masked: string,
  connected: () => boolean,
): (retries: number, cause: Error) => number | Error {
  return (retries, cause) =>
    connected() ? Math.min(50 * 2 ** retries, 1_000) : new RedisConnectionError(
      masked,
      `cannot connect: ${cause.message}`,
      cause,
    );
}

/** A standalone connection to `url` (not yet connected); `masked` names it in errors. */
export function newClient(url: string, masked: string): Client {
  let connected = false;
  const client = createClient({
    url,
    socket: {
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectStrategy: reconnectStrategy(masked, () => connected),
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
