//! The team's budget in Redis: one hash per budget, decided on the Redis
//! server by Lua scripts on Redis's own clock (`TIME`), so that the
//! proxies' clocks never matter and no two proxies can take one slot.
//!
//! The hash, `pacer:budget:{NAME}` (the braces are a cluster hash tag:
//! everything of one budget lives in one slot), holds:
//! - `tat`: the theoretical arrival time of the next request, in
//!   microseconds of Redis's clock;
//! - `alive:<proxy id>`: each proxy's last heartbeat, same clock.
//!
//! Taking a slot is a scheduling GCRA: the earliest slot is
//! `max(now, tat - tolerance, floor)`, and `tat` moves one interval past
//! it; a slot further than the longest hold is refused and takes nothing.
//! A budget the server does not know (new, expired, or lost in a restart)
//! starts as though a request had just gone with its burst spent, so a
//! restarted Redis grants no burst on top of what the proxies sent while
//! it was away.

use redis::aio::ConnectionManager;
use redis::Script;
use std::sync::LazyLock;
use std::time::Duration;

/// ARGV: interval µs, tolerance µs, longest hold µs, floor µs (this
/// proxy's own schedule, relative to now). Returns `{granted, wait µs}`:
/// `granted` 1 with the wait until its slot, or 0 with the wait it would
/// have had.
const TAKE: &str = r#"
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local longest = tonumber(ARGV[3])
local floor = now + tonumber(ARGV[4])
local tat = tonumber(redis.call('HGET', KEYS[1], 'tat'))
if tat == nil then
  tat = now + tolerance + interval
end
if tat < now then tat = now end
local slot = tat - tolerance
if slot < now then slot = now end
if slot < floor then slot = floor end
local wait = slot - now
if wait > longest then
  return {0, wait}
end
if slot > tat then tat = slot end
tat = tat + interval
redis.call('HSET', KEYS[1], 'tat', string.format('%d', tat))
local keep = math.floor((tat - now) / 1000) + 120000
if redis.call('PTTL', KEYS[1]) < keep then
  redis.call('PEXPIRE', KEYS[1], keep)
end
return {1, wait}
"#;

/// ARGV: proxy id, how long a heartbeat counts (µs). Records this proxy's
/// heartbeat, forgets stale ones, and returns how many proxies are alive.
const BEAT: &str = r#"
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local window = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'alive:' .. ARGV[1], string.format('%d', now))
local fields = redis.call('HGETALL', KEYS[1])
local alive = 0
for i = 1, #fields, 2 do
  local name = fields[i]
  if string.sub(name, 1, 6) == 'alive:' then
    if now - tonumber(fields[i + 1]) <= window then
      alive = alive + 1
    else
      redis.call('HDEL', KEYS[1], name)
    end
  end
end
local keep = math.floor(window / 1000) * 2
if redis.call('PTTL', KEYS[1]) < keep then
  redis.call('PEXPIRE', KEYS[1], keep)
end
return alive
"#;

static TAKE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(TAKE));
static BEAT_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(BEAT));

/// The Redis key of the budget named `name`, hash-tagged.
pub fn key(name: &str) -> String {
    format!("pacer:budget:{{{name}}}")
}

/// What the shared budget said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shared {
    /// Hold this long, then forward.
    After(Duration),
    /// Refused: the slot would have been this far away.
    Refused(Duration),
}

/// Microseconds, for the scripts.
fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX / 2)
}

/// Takes a slot of the budget at `key`.
pub async fn take(
    conn: &mut ConnectionManager,
    key: &str,
    interval: Duration,
    tolerance: Duration,
    longest: Duration,
    floor: Duration,
) -> redis::RedisResult<Shared> {
    let (granted, wait): (i64, i64) = TAKE_SCRIPT
        .key(key)
        .arg(micros(interval))
        .arg(micros(tolerance))
        .arg(micros(longest))
        .arg(micros(floor))
        .invoke_async(conn)
        .await?;
    let wait = Duration::from_micros(wait.max(0).unsigned_abs());
    Ok(if granted == 1 {
        Shared::After(wait)
    } else {
        Shared::Refused(wait)
    })
}

/// Records `proxy`'s heartbeat in the budget at `key`; returns how many
/// proxies beat within `window`.
pub async fn beat(
    conn: &mut ConnectionManager,
    key: &str,
    proxy: &str,
    window: Duration,
) -> redis::RedisResult<usize> {
    let alive: i64 = BEAT_SCRIPT
        .key(key)
        .arg(proxy)
        .arg(micros(window))
        .invoke_async(conn)
        .await?;
    Ok(usize::try_from(alive).unwrap_or(0).max(1))
}
