/**
 * The Redis engine's `LockTimeoutError`: names the holder's host as well
 * as its pid and tag.
 *
 * @module
 */

import { LockTimeoutError } from "../../errors.ts";
import type { RedisHolder } from "./types.ts";

/** An acquire of a Redis lock gave up after its timeout (a `LockTimeoutError`). */
export class RedisLockTimeoutError extends LockTimeoutError {
  /** The holder's host, when known. */
  readonly holderHost: string | null;
  /** The holder's tag, when known. */
  readonly holderTag: string | null;

  /** Builds the error for `target` (the lock and its server); `holder` as last seen. */
  constructor(target: string, timeout: number, holder: RedisHolder | null) {
    super(
      target,
      timeout,
      holder?.pid ?? null,
      holder?.since ?? null,
      holder?.tag,
    );
    this.holderHost = holder?.host ?? null;
    this.holderTag = holder?.tag ?? null;
    if (holder !== null) {
      this.message = this.message.replace(
        `held by pid ${holder.pid}`,
        `held by pid ${holder.pid} on ${holder.host}`,
      );
    }
  }
}
