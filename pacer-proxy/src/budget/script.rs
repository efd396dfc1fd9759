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
//! starts as though a request had just gone with its burst spent, and a
//! settling time later (the time every proxy still pacing alone needs to
//! notice Redis is back and stop), so a restarted Redis grants no burst on
//! top of what the proxies sent while it was away.

use redis::aio::ConnectionManager;
use redis::Script;
use std::sync::LazyLock;
use std::time::Duration;

/// ARGV: interval µs, tolerance µs, longest hold µs, floor µs (this
/// proxy's own schedule, relative to now), settling µs. Returns
/// `{granted, wait µs, ahead µs, now µs}`: `granted` 1 with the wait
/// until its slot, or 0 with the wait it would have had; `ahead`, how far
/// the team's schedule reaches past now; `now`, Redis's clock.
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
  tat = now + tolerance + interval + tonumber(ARGV[5])
end
if tat < now then tat = now end
local slot = tat - tolerance
if slot < now then slot = now end
if slot < floor then slot = floor end
local wait = slot - now
if wait > longest then
  return {0, wait, tat - now, now}
end
if slot > tat then tat = slot end
tat = tat + interval
redis.call('HSET', KEYS[1], 'tat', string.format('%d', tat))
local keep = math.floor((tat - now) / 1000) + 120000
if redis.call('PTTL', KEYS[1]) < keep then
  redis.call('PEXPIRE', KEYS[1], keep)
end
return {1, wait, tat - now, now}
"#;

/// ARGV: proxy id, how long a heartbeat counts (µs), floor µs (0, or for
/// a proxy that paced alone and is coming back: no slot for anyone before
/// now + floor, so the team's schedule starts after its own). Records this proxy's
/// heartbeat, forgets stale ones, and returns `{alive, rank, now}`: how many
/// proxies are alive, and how many of them have an id below this one's
/// (each proxy's place in the team, the same as every other sees it), and
/// Redis's clock.
const BEAT: &str = r#"
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local window = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'alive:' .. ARGV[1], string.format('%d', now))
local floor = tonumber(ARGV[3])
if floor > 0 then
  local tat = tonumber(redis.call('HGET', KEYS[1], 'tat'))
  if tat == nil or tat < now + floor then
    redis.call('HSET', KEYS[1], 'tat', string.format('%d', now + floor))
  end
end
local fields = redis.call('HGETALL', KEYS[1])
local alive = 0
local rank = 0
local me = 'alive:' .. ARGV[1]
for i = 1, #fields, 2 do
  local name = fields[i]
  if string.sub(name, 1, 6) == 'alive:' then
    if now - tonumber(fields[i + 1]) <= window then
      alive = alive + 1
      if name < me then rank = rank + 1 end
    else
      redis.call('HDEL', KEYS[1], name)
    end
  end
end
local keep = math.floor(window / 1000) * 2
if redis.call('PTTL', KEYS[1]) < keep then
  redis.call('PEXPIRE', KEYS[1], keep)
end
return {alive, rank, now}
"#;

static TAKE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(TAKE));
static BEAT_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(BEAT));

/// The Redis key of the budget named `name`, hash-tagged.
pub fn key(name: &str) -> String {
    format!("pacer:budget:{{{name}}}")
}

/// What the shared budget said, and how far the team's schedule reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shared {
    /// The slot was granted (else refused).
    pub granted: bool,
    /// How long until the slot (the slot it would have had, if refused).
    pub wait: Duration,
    /// How far past now the team's schedule reaches.
    pub ahead: Duration,
    /// Redis's clock when it decided, µs.
    pub now: i64,
}

/// A proxy's place in the team, from the heartbeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Team {
    /// Proxies alive (this one included).
    pub alive: usize,
    /// How many of them come before this one.
    pub rank: usize,
    /// Redis's clock, µs (0 when unknown).
    pub now: i64,
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
    settling: Duration,
) -> redis::RedisResult<Shared> {
    let (granted, wait, ahead, now): (i64, i64, i64, i64) = TAKE_SCRIPT
        .key(key)
        .arg(micros(interval))
        .arg(micros(tolerance))
        .arg(micros(longest))
        .arg(micros(floor))
        .arg(micros(settling))
        .invoke_async(conn)
        .await?;
    let us = |v: i64| Duration::from_micros(v.max(0).unsigned_abs());
    Ok(Shared {
        granted: granted == 1,
        wait: us(wait),
        ahead: us(ahead),
        now,
    })
}

/// Records `proxy`'s heartbeat in the budget at `key` (with a `floor` for
/// the team's schedule, or zero); returns the proxies that beat within
/// `window` and this one's place among them.
pub async fn beat(
    conn: &mut ConnectionManager,
    key: &str,
    proxy: &str,
    window: Duration,
    floor: Duration,
) -> redis::RedisResult<Team> {
    let (alive, rank, now): (i64, i64, i64) = BEAT_SCRIPT
        .key(key)
        .arg(proxy)
        .arg(micros(window))
        .arg(micros(floor))
        .invoke_async(conn)
        .await?;
    let alive = usize::try_from(alive).unwrap_or(0).max(1);
    let rank = usize::try_from(rank).unwrap_or(0).min(alive - 1);
    Ok(Team { alive, rank, now })
}
