/**
 * The Lua scripts of the Redis engine: every step that reads and writes
 * a lock's keys is one script, so it runs atomically on the server, and
 * every key of a lock carries the `{name}` hash tag (one Cluster slot).
 * Only the server's clock (`TIME`) decides whether a lease ran out.
 *
 * Keys of lock `N` (prefix `memshare:{N}:`):
 * - `state`  hash: owner (waiter id), token, exp (server ms), lease, host,
 *   pid, tag, since; acq, rec (counts); lost (1: the next grant reports
 *   `recovered`)
 * - `fence`  the fencing counter, only ever `INCR`ed
 * - `queue`  list of waiter ids, first come first served
 * - `wait`   hash waiter id → `EXPIRY:LEASE:PID:HOSTLENGTH:HOST` + tag:
 *   the heartbeat's expiry (server ms) and what a grant needs, in one
 *   field so that queueing, heartbeats and promotion each touch it once
 *   (read by a pattern match: cjson cost more than the hash calls saved)
 * - `data`   the shared bytes (never shrunk: written with `SETRANGE 0`)
 * - `mb:ID`  a waiter's mailbox: a grant is `RPUSH`ed there as
 *   `token:recovered:` + the bytes, and the waiter `BLPOP`s it
 *
 * @module
 */

/** The keys of one lock, in the order every script takes them. */
export interface LockKeys {
  /** All keys, for `EVALSHA`: state, fence, queue, wait, data. */
  readonly keys: readonly string[];
  /** Prefix of the mailboxes (`…mb:`); a waiter's is this + its id. */
  readonly mailboxPrefix: string;
}

/** The keys of lock `name`. */
export function lockKeys(name: string): LockKeys {
  const p = `memshare:{${name}}:`;
  return {
    keys: [
      `${p}state`,
      `${p}fence`,
      `${p}queue`,
      `${p}wait`,
      `${p}data`,
    ],
    mailboxPrefix: `${p}mb:`,
  };
}

/** The keys and the server's time, first in every script. */
const HEAD = `
local S, F, Q, W, D = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local MBP = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * The state fields a grant writes (one \`HSET\`), as Lua expressions: shared by
 * \`grant()\` and the fast paths that run before the functions exist. Numbers
 * go in as text made by \`%d\`: a Lua number handed to \`redis.call\` is
 * printed with \`%.17g\` (Redis 7.0), which cost ≈ 5 µs per grant here.
 */
function grantFields(
  id: string,
  lease: string,
  leaseText: string,
  host: string,
  pid: string,
  tag: string,
  recText: string,
  acq: string,
): string {
  return `'owner', ${id}, 'token', string.format('%d', token),
    'exp', string.format('%d', now + ${lease}), 'lease', ${leaseText},
    'host', ${host}, 'pid', ${pid}, 'tag', ${tag}, 'since', string.format('%d', now),
    'lost', '0', 'grec', ${recText}, 'acq', string.format('%d', ${acq})`;
}

/** What \`expire()\` reads of the state hash. */
const STATE_FIELDS =
  "'owner', 'exp', 'lost', 'acq', 'host', 'pid', 'tag', 'since'";

/** The fields \`clear_owner()\` deletes. */
const OWNER_FIELDS =
  "'owner', 'exp', 'lease', 'host', 'pid', 'tag', 'since', 'grec'";

/**
 * The shared functions. Defining them makes a closure each, on every call
 * (≈ 5 µs per script where an empty script costs ≈ 7 µs), so the
 * uncontended paths of ACQUIRE and RELEASE return before this point.
 */
const FUNCTIONS = `
-- What this call already read of the state hash (nil: not read), so that
-- grant() and holder() need no reads of their own on the hot paths.
local known_lost, known_acq, known_holder
-- promote() stopped at its cap with waiters still queued (all dead so far).
local queue_left = false

-- A queued waiter's record in \`wait\` (see the keys above).
local function record(expiry, lease, host, pid, tag)
  return string.format('%d:%d:%s:%d:', expiry, lease, pid, #host) .. host .. tag
end

local function clear_owner()
  redis.call('HDEL', S, ${OWNER_FIELDS})
end

-- A holder whose lease ran out loses the lock (the next grant reports
-- it). Returns the owner left (false when none). \`h\`: the state's fields
-- as the fast path of ACQUIRE read them (nil: read them here).
local function expire(h)
  h = h or redis.call('HMGET', S, ${STATE_FIELDS})
  known_acq = tonumber(h[4] or '0')
  if h[1] and tonumber(h[2]) <= now then
    clear_owner()
    redis.call('HSET', S, 'lost', 1)
    redis.call('HINCRBY', S, 'rec', 1)
    known_lost = true
    return false
  end
  known_lost = h[3] == '1'
  if h[1] then known_holder = {h[5], h[6], h[7], h[8], tostring(tonumber(h[2]) - now)} end
  return h[1]
end

local function grant(id, lease, host, pid, tag)
  local token = redis.call('INCR', F)
  if known_lost == nil then
    local h = redis.call('HMGET', S, 'lost', 'acq')
    known_lost, known_acq = h[1] == '1', tonumber(h[2] or '0')
  end
  local rec = known_lost and 1 or 0
  known_lost, known_acq, known_holder = false, known_acq + 1, nil
  redis.call('HSET', S, ${
  grantFields(
    "id",
    "lease",
    "string.format('%d', lease)",
    "host",
    "pid",
    "tag",
    "rec == 1 and '1' or '0'",
    "known_acq",
  )
})
  return token, rec
end

-- With the lock free, grants it to the first waiter whose heartbeat is
-- alive (dead ones are dropped) and mails it the grant and the bytes.
-- \`owner\`: the owner when the caller knows it (false: none, whatever
-- the state hash still names). Returns the owner after (false: none
-- granted, and nobody queues).
local function promote(owner)
  if owner == nil then owner = redis.call('HGET', S, 'owner') end
  if owner then return owner end
  for _ = 1, 10000 do
    local id = redis.call('LPOP', Q)
    if not id then return false end
    local w = redis.call('HGET', W, id)
    redis.call('HDEL', W, id)
    local e, lease, pid, n, rest
    if w then e, lease, pid, n, rest = string.match(w, '^(%d+):(%d+):([^:]*):(%d+):(.*)$') end
    if e and tonumber(e) > now then
      n = tonumber(n)
      local token, rec = grant(id, tonumber(lease), string.sub(rest, 1, n), pid, string.sub(rest, n + 1))
      local mb = MBP .. id
      redis.call('RPUSH', mb, string.format('%d:%d:', token, rec) .. (redis.call('GET', D) or ''))
      redis.call('PEXPIRE', mb, string.format('%d', lease + 60000))
      return id
    end
  end
  -- Only dead waiters so far: nobody was granted, but the queue may go on
  -- (the next script's promote continues with it).
  queue_left = redis.call('LLEN', Q) > 0
  return false
end

local function holder()
  if known_holder then return known_holder end
  local h = redis.call('HMGET', S, 'host', 'pid', 'tag', 'since', 'exp')
  if not h[1] then return {} end
  return {h[1], h[2], h[3], h[4], tostring(tonumber(h[5]) - now)}
end

local function is_holder(id, token)
  local h = redis.call('HMGET', S, 'owner', 'token', 'exp', 'lost', 'acq')
  if h[1] == id and h[2] == token and tonumber(h[3]) > now then
    known_lost, known_acq = h[4] == '1', tonumber(h[5] or '0')
    return true
  end
  return false
end
`;

/**
 * ACQUIRE(mbp, id, lease, hbTtl, host, pid, tag, once): takes the lock when
 * it is free and nobody queues (→ `{1, token, recovered, bytes}`), else
 * queues `id` (→ `{0, holder}`); with `once` = 1 it never queues.
 */
const ACQUIRE = `${HEAD}
local id, lease, ttl = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local h = redis.call('HMGET', S, ${STATE_FIELDS})
if not h[1] and redis.call('LLEN', Q) == 0 then -- fast path: free, nobody queues
  local token = redis.call('INCR', F)
  local rec = h[3] == '1' and 1 or 0
  redis.call('HSET', S, ${
  grantFields(
    "id",
    "lease",
    "ARGV[3]",
    "ARGV[5]",
    "ARGV[6]",
    "ARGV[7]",
    "rec == 1 and '1' or '0'",
    "tonumber(h[4] or '0') + 1",
  )
})
  return {1, token, rec, redis.call('GET', D) or ''}
end
${FUNCTIONS}
if not promote(expire(h)) and not queue_left then -- free, and nobody queues
  local token, rec = grant(id, lease, ARGV[5], ARGV[6], ARGV[7])
  return {1, token, rec, redis.call('GET', D) or ''}
end
if ARGV[8] == '1' then return {0, holder()} end -- one try: never queues
redis.call('RPUSH', Q, id)
redis.call('HSET', W, id, record(now + ttl, lease, ARGV[5], ARGV[6], ARGV[7]))
return {0, holder()}
`;

/**
 * HEARTBEAT(mbp, id, hbTtl, lease, host, pid, tag): keeps `id` alive in the queue, lets a
 * lapsed holder go; re-queues `id` at the tail if it was dropped. →
 * `{2}` when `id` holds the lock (its grant is in the mailbox), else
 * `{0, holder}` (`{3, holder}` when re-queued).
 */
const HEARTBEAT = `${HEAD}${FUNCTIONS}
local id, ttl = ARGV[2], tonumber(ARGV[3])
if promote(expire()) == id then return {2} end
local queued = redis.call('HEXISTS', W, id) == 1
if not queued and redis.call('LLEN', MBP .. id) > 0 then return {2} end
redis.call('HSET', W, id, record(now + ttl, ARGV[4], ARGV[5], ARGV[6], ARGV[7]))
if queued then return {0, holder()} end
redis.call('RPUSH', Q, id)
if promote() == id then return {2} end
return {3, holder()}
`;

/**
 * LEAVE(mbp, id): `id` stops waiting; a grant that raced in is passed on
 * (the bytes untouched). → 1 when there was one.
 */
const LEAVE = `${HEAD}${FUNCTIONS}
local id = ARGV[2]
redis.call('LREM', Q, 0, id)
redis.call('HDEL', W, id)
redis.call('DEL', MBP .. id)
local had = 0
if redis.call('HGET', S, 'owner') == id then
  clear_owner()
  had = 1
end
promote(expire())
return had
`;

/**
 * CLAIM(mbp, id): a waiter whose heartbeat says it holds the lock but whose
 * mail never came (the reply of its BLPOP was lost with the connection)
 * takes the grant directly: \`{token, recovered, bytes}\`, or \`{}\` when it
 * does not hold it.
 */
const CLAIM = `${HEAD}${FUNCTIONS}
local id = ARGV[2]
expire()
local h = redis.call('HMGET', S, 'owner', 'token', 'grec')
if h[1] ~= id then return {} end
redis.call('DEL', MBP .. id)
return {tonumber(h[2]), tonumber(h[3] or '0'), redis.call('GET', D) or ''}
`;

/** RENEW(mbp, id, token, lease): → 1 and the lease extended, or 0: lost. */
const RENEW = `${HEAD}${FUNCTIONS}
if is_holder(ARGV[2], ARGV[3]) then
  redis.call('HSET', S, 'exp', string.format('%d', now + tonumber(ARGV[4])))
  return 1
end
promote(expire())
return 0
`;

/**
 * RELEASE(mbp, id, token, bytes): with the lease still ours, writes the
 * bytes back and hands the lock to the next live waiter → 1; else writes
 * nothing → 0 (lost).
 */
const RELEASE = `${HEAD}
local h = redis.call('HMGET', S, 'owner', 'token', 'exp', 'lost', 'acq')
local mine = h[1] == ARGV[2] and h[2] == ARGV[3] and tonumber(h[3]) > now
if mine then
  redis.call('SETRANGE', D, 0, ARGV[4])
  if redis.call('LLEN', Q) == 0 then -- fast path: nobody to hand it to
    redis.call('HDEL', S, ${OWNER_FIELDS})
    return 1
  end
end
${FUNCTIONS}
if mine then
  known_lost, known_acq = h[4] == '1', tonumber(h[5] or '0')
  -- A grant overwrites every field clear_owner() would delete.
  if not promote(false) then clear_owner() end
  return 1
end
promote(expire())
return 0
`;

/**
 * INFO(mbp): reads only. → `{locked, holder, waiting, acq, rec, token}`.
 */
const INFO = `${HEAD}${FUNCTIONS}
local exp = tonumber(redis.call('HGET', S, 'exp') or '0')
local locked = exp > now and 1 or 0
local waiting = 0
for _, v in ipairs(redis.call('HVALS', W)) do
  if tonumber(string.match(v, '^%d+') or '0') > now then waiting = waiting + 1 end
end
local c = redis.call('HMGET', S, 'acq', 'rec')
local h = {}
if locked == 1 then h = holder() end
return {locked, h, waiting, tonumber(c[1] or '0'), tonumber(c[2] or '0'),
  tonumber(redis.call('GET', F) or '0')}
`;

/** A script's source and its SHA-1 (filled in once computed). */
export interface Script {
  /** Its name, for messages. */
  readonly name: string;
  /** The Lua source. */
  readonly source: string;
  /** Its SHA-1 in hex, as `EVALSHA` wants it. */
  sha: string;
}

/** Every script, by name. */
export const SCRIPTS: {
  readonly acquire: Script;
  readonly heartbeat: Script;
  readonly claim: Script;
  readonly leave: Script;
  readonly renew: Script;
  readonly release: Script;
  readonly info: Script;
} = {
  acquire: { name: "acquire", source: ACQUIRE, sha: "" },
  heartbeat: { name: "heartbeat", source: HEARTBEAT, sha: "" },
  claim: { name: "claim", source: CLAIM, sha: "" },
  leave: { name: "leave", source: LEAVE, sha: "" },
  renew: { name: "renew", source: RENEW, sha: "" },
  release: { name: "release", source: RELEASE, sha: "" },
  info: { name: "info", source: INFO, sha: "" },
};

/** Computes every script's SHA-1 (once). */
export async function hashScripts(): Promise<void> {
  if (SCRIPTS.acquire.sha !== "") return;
  for (const script of Object.values(SCRIPTS)) {
    const digest = await crypto.subtle.digest(
      "SHA-1",
      new TextEncoder().encode(script.source),
    );
    script.sha = Array.from(
      new Uint8Array(digest),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
  }
}
