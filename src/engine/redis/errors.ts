/**
 * The errors of the Redis engine.
 *
 * @module
 */

/**
 * The lease was lost: the holder was paused or cut off past its lease and
 * another may hold the lock now. `release()` rejects with it, and the
 * bytes were then *not* written back.
 */
export class LockLostError extends Error {
  /** Error name, for `error.name` checks. */
  override readonly name = "LockLostError";
  /** The lock, named with its server (password masked). */
  readonly target: string;
  /** The fencing token of the holding that was lost. */
  readonly token: number;

  /** Builds the error for the holding with `token` of `target`. */
  constructor(target: string, token: number, reason = "its lease ran out") {
    super(
      `lost lock ${target} (token ${token}): ${reason}; the shared bytes were not written back`,
    );
    this.target = target;
    this.token = token;
  }
}

/** The Redis server could not be reached, refused us, or went away (the URL names it, password masked). */
export class RedisConnectionError extends Error {
  /** Error name, for `error.name` checks. */
  override readonly name = "RedisConnectionError";
  /** The server's URL, password written as `***`. */
  readonly url: string;

  /** Builds the error; `cause` is the client's error, when there is one. */
  constructor(url: string, reason: string, cause?: unknown) {
    super(
      `Redis server ${url}: ${reason}`,
      cause === undefined ? undefined : { cause },
    );
    this.url = url;
  }
}
