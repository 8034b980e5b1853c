/**
 * Redis URLs: `redis://[user[:password]@]host[:port][/db]` and `rediss://`
 * (TLS). The password is never shown: `masked` writes it as `***`.
 *
 * @module
 */

/** A parsed server URL. */
export interface RedisUrl {
  /** The URL as given (with the password: for the client only). */
  readonly url: string;
  /** The URL with the password written as `***`: for messages. */
  readonly masked: string;
  /** Whether it is `rediss://` (TLS). */
  readonly tls: boolean;
  /**
   * For `rediss://`: PEM certificate(s) of the CA(s) that signed the
   * server's certificate, trusted instead of the runtime's roots
   * (`RedisShareLock`'s `tls.ca`). Absent: the runtime's roots (and
   * `NODE_EXTRA_CA_CERTS`).
   */
  readonly ca?: string;
}

/** What tells servers apart for sharing connections: the URL and the CA trusted. */
export function serverIdentity(url: RedisUrl): string {
  return url.ca === undefined ? url.url : `${url.url}\n${url.ca}`;
}

/** Writes the password of a URL-like string as `***` (best effort for text that failed to parse). */
export function maskPassword(text: string): string {
  return text.replace(/^([a-z+]+:\/\/[^:@/]*:)[^@/]*@/i, "$1***@");
}

/**
 * Parses and checks a Redis URL; a `TypeError` naming the option (and the
 * URL, password masked) when it is not one.
 */
export function parseRedisUrl(value: unknown, option = "redis"): RedisUrl {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(
      `option "${option}" must be a Redis URL string such as "redis://127.0.0.1:6379", got ${
        typeof value === "string" ? "an empty string" : typeof value
      }`,
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(
      `option "${option}" is not a URL: "${
        maskPassword(value)
      }" (expected redis://host:port or rediss://host:port)`,
    );
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new TypeError(
      `option "${option}" must be a redis:// or rediss:// URL, got "${
        maskPassword(value)
      }"`,
    );
  }
  if (url.hostname === "") {
    throw new TypeError(
      `option "${option}" names no host: "${maskPassword(value)}"`,
    );
  }
  const db = url.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d{1,5}$/.test(db)) {
    throw new TypeError(
      `option "${option}": the path must be a database number, got "/${db}" in "${
        maskPassword(value)
      }"`,
    );
  }
  if (url.search !== "" || url.hash !== "") {
    throw new TypeError(
      `option "${option}" takes no query or fragment: "${maskPassword(value)}"`,
    );
  }
  const masked = new URL(url.href);
  if (masked.password !== "") masked.password = "***";
  return {
    url: value,
    masked: masked.href.replace(/\/$/, "").replace("%2A%2A%2A", "***"),
    tls: url.protocol === "rediss:",
  };
}
