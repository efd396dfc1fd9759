//! One rate budget for a team: every proxy that names the same Redis and
//! budget takes its requests' slots from one GCRA kept there ([`script`]),
//! holds each request until its slot, and refuses (429) one whose slot is
//! further away than the longest hold.
//!
//! When Redis cannot be reached (or answers too slowly), each proxy paces
//! alone at its share of the rate: the rate divided by the proxies whose
//! heartbeats it last saw in Redis within a minute ([`local`]), starting
//! after the end of the team's schedule as it last saw it, offset by its
//! place in the team so that the proxies' local slots interleave. It says
//! so in a header and on stderr, and probes Redis every quarter second
//! ([`health`]). Back on Redis it asks for no slot before its own local
//! schedule's next one, and a budget Redis lost starts late enough for
//! every proxy to have stopped pacing alone: the return makes no burst.

mod clock;
mod config;
pub mod fields;
pub mod health;
pub mod local;
pub mod script;

use clock::Clock;
pub use config::BudgetConfig;
use health::{Health, Route, PROBE_EVERY};
use local::{LocalGcra, Slot};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use script::Team;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The largest error of the clock pairing a slot may be mapped with: a
/// poorer pairing (the first call's, which set up the connection) is
/// refined with a `TIME` call first.
const CLOCK_ERROR: Duration = Duration::from_millis(5);
/// How long a held request naps between two tries at a better pairing.
const REFINE_NAP: Duration = Duration::from_millis(30);
/// How long one Redis call may take before the proxy paces alone.
const REDIS_TIMEOUT: Duration = Duration::from_millis(300);
/// How much later than one interval a budget Redis does not know starts:
/// a probe period and a margin, so that proxies still pacing alone after
/// a restart have switched back before its first slot.
const SETTLING: Duration = Duration::from_millis(300);
/// How often each proxy records its heartbeat in the budgets it uses.
const BEAT_EVERY: Duration = Duration::from_secs(2);
/// How often the clocks are paired again while the pairing is poor.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);
/// How recent a heartbeat must be for its proxy to count as alive.
const ALIVE_WINDOW: Duration = Duration::from_secs(60);
/// A budget unused this long is forgotten by the proxy (Redis keeps it).
const LANE_IDLE: Duration = Duration::from_secs(600);

/// Where a decision was made.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// By the team's budget in Redis, shared among `proxies` (as the
    /// heartbeats last said; `None` before the first).
    Shared {
        /// The proxies alive in the budget.
        proxies: Option<usize>,
    },
    /// By this proxy alone, Redis being unreachable: `share` per second,
    /// the rate divided among `proxies`.
    Local {
        /// This proxy's rate.
        share: f64,
        /// The proxies it divided the rate among.
        proxies: usize,
    },
}

impl Mode {
    /// The access log's word for it.
    pub fn word(self) -> &'static str {
        match self {
            Mode::Shared { .. } => "shared",
            Mode::Local { .. } => "local",
        }
    }
}

/// What the budget says to one request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Decision {
    /// Hold it this long, then forward it.
    Hold(Duration, Mode),
    /// Refuse it; a retry makes sense after this long.
    Refuse(Duration, Mode),
}

/// What this proxy's own schedule says.
enum Local {
    /// Its decision.
    Decided(Decision),
    /// The slot would come after the switch back to Redis: wait for it.
    AfterSwitch,
}

impl Local {
    fn decision(self) -> Decision {
        match self {
            Local::Decided(d) => d,
            // Without a switch time there is always a decision.
            Local::AfterSwitch => Decision::Hold(Duration::ZERO, Mode::Shared { proxies: None }),
        }
    }
}

/// One budget as this proxy knows it.
struct Lane {
    /// This proxy's own schedule: its fallback, and the floor on return.
    local: LocalGcra,
    /// The proxies alive at the last heartbeat, and this one's place.
    team: Team,
    /// Set while pacing alone; the first shared slot after it is floored.
    recovering: bool,
    /// Where the team's schedule ended at the last answer (local clock).
    team_end: Duration,
    last_used: Instant,
}

/// A proxy's view of its team budgets.
pub struct Budget {
    config: BudgetConfig,
    upstream: String,
    conn: ConnectionManager,
    /// This proxy's heartbeat name.
    id: String,
    /// The origin of the local schedules' clock.
    origin: Instant,
    held: AtomicUsize,
    lanes: Mutex<HashMap<String, Lane>>,
    health: Mutex<Health>,
    clock: Mutex<Clock>,
}

/// Counts a request as held while it lives.
pub struct Held<'a>(&'a AtomicUsize);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Budget {
    /// A budget per `config` for requests to `upstream`. Connects lazily:
    /// a Redis that is down at start means pacing alone until it is up.
    pub fn new(config: BudgetConfig, upstream: &str) -> anyhow::Result<Arc<Budget>> {
        config.validate()?;
        let client = redis::Client::open(config.redis.as_str())?;
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(PROBE_EVERY);
        let conn = ConnectionManager::new_lazy_with_config(client, manager)?;
        let budget = Arc::new(Budget {
            config,
            upstream: upstream.trim_end_matches('/').to_string(),
            conn,
            id: uuid::Uuid::new_v4().simple().to_string(),
            origin: Instant::now(),
            held: AtomicUsize::new(0),
            lanes: Mutex::new(HashMap::new()),
            health: Mutex::new(Health::default()),
            clock: Mutex::new(Clock::default()),
        });
        let beats = Arc::downgrade(&budget);
        tokio::spawn(async move {
            if let Some(budget) = beats.upgrade() {
                budget.warm_up().await;
            }
            // Heartbeats every BEAT_EVERY; in between, while the clock
            // pairing is poor (a busy machine), one more `TIME` call every
            // SAMPLE_EVERY, so that a quick one is found before a run's
            // first slots are mapped, not by the held requests themselves.
            let mut every = tokio::time::interval(SAMPLE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_beat: Option<Instant> = None;
            loop {
                every.tick().await;
                let Some(budget) = beats.upgrade() else {
                    return;
                };
                if last_beat.is_none_or(|t| t.elapsed() >= BEAT_EVERY) {
                    last_beat = Some(Instant::now());
                    budget.beat_all().await;
                } else if lock(&budget.health).is_up() && !lock(&budget.clock).within(CLOCK_ERROR) {
                    budget.sample_time().await;
                }
            }
        });
        Ok(budget)
    }

    /// The team's rate.
    pub fn rate(&self) -> f64 {
        self.config.rate
    }

    /// How late after its slot a held request may still be forwarded:
    /// half an interval, so that it cannot reach the API with the next
    /// slot's request.
    pub fn late_after(&self) -> Duration {
        self.config.interval() / 2
    }

    /// The longest a request is held.
    pub fn max_wait(&self) -> Duration {
        self.config.max_wait
    }

    /// The budget name for a request with `client_key`: the configured
    /// one, or a hash of the API and the key (never the key itself).
    pub fn name_for(&self, client_key: &str) -> String {
        if let Some(name) = &self.config.name {
            return name.clone();
        }
        let mut hash = Sha256::new();
        hash.update(self.upstream.as_bytes());
        hash.update(b"\n");
        hash.update(client_key.as_bytes());
        let digest = hash.finalize();
        digest[..12].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// How many requests this proxy is holding.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// Counts one more held request until the guard drops.
    pub fn hold(&self) -> Held<'_> {
        self.held.fetch_add(1, Ordering::Relaxed);
        Held(&self.held)
    }

    /// Takes a slot for a request with `client_key`.
    pub async fn take(self: &Arc<Self>, client_key: &str) -> Decision {
        let key = script::key(&self.name_for(client_key));
        self.touch_lane(&key);
        let mut route = lock(&self.health).route(self.now());
        if route == Route::Probe {
            // Its own local slots (granted, and to be granted until the
            // switch back) stay its own: the team's schedule in Redis
            // starts after them. Every proxy probes within a probe period
            // of the others, before anyone switches back.
            let floor = {
                let now = self.now();
                let lanes = lock(&self.lanes);
                let ahead = lanes
                    .get(&key)
                    .map_or(Duration::ZERO, |l| l.local.ahead(now));
                ahead.max(health::RETURN_AFTER + self.config.interval())
            };
            let mut conn = self.conn.clone();
            let probe = script::beat(&mut conn, &key, &self.id, ALIVE_WINDOW, floor);
            match tokio::time::timeout(REDIS_TIMEOUT, probe).await {
                Ok(Ok(team)) => {
                    // A restarted Redis has lost the others' heartbeats:
                    // until they beat again, keep the share known before.
                    if let Some(lane) = lock(&self.lanes).get_mut(&key) {
                        if team.alive >= lane.team.alive {
                            lane.team = team;
                        }
                    }
                    lock(&self.health).probed(self.now());
                    eprintln!(
                        "pacer-proxy: Redis answers again: back on the team budget in {} ms",
                        health::RETURN_AFTER.as_millis()
                    );
                }
                _ => {
                    lock(&self.health).failed(self.now());
                }
            }
            route = lock(&self.health).route(self.now());
        }
        match route {
            Route::Redis => self.take_shared(&key).await,
            Route::Probe => self.take_locally(&key, None).decision(),
            Route::Local { until } => match self.take_locally(&key, until) {
                Local::Decided(decision) => decision,
                Local::AfterSwitch => {
                    // Its local slot would come after the switch back: it
                    // waits for the switch and takes a shared one.
                    let switch = until.unwrap_or_default();
                    tokio::time::sleep(switch.saturating_sub(self.now())).await;
                    lock(&self.health).route(self.now());
                    self.take_shared(&key).await
                }
            },
        }
    }

    /// Makes the lane of `key` if new (with a first heartbeat at once, so
    /// that the share is right even if Redis goes away in the next
    /// seconds) and marks it used.
    fn touch_lane(self: &Arc<Self>, key: &str) {
        let mut lanes = lock(&self.lanes);
        let lane = lanes.entry(key.to_string()).or_insert_with(|| {
            let me = Arc::downgrade(self);
            let beat_key = key.to_string();
            tokio::spawn(async move {
                if let Some(me) = me.upgrade() {
                    me.beat(&beat_key).await;
                }
            });
            Lane {
                local: LocalGcra::default(),
                team: Team {
                    alive: 1,
                    rank: 0,
                    now: 0,
                },
                recovering: false,
                team_end: Duration::ZERO,
                last_used: Instant::now(),
            }
        });
        lane.last_used = Instant::now();
    }

    /// A slot from the team's budget in Redis (or, if Redis fails, alone).
    async fn take_shared(&self, key: &str) -> Decision {
        let interval = self.config.interval();
        let max_wait = self.config.max_wait;
        let floor = {
            let lanes = lock(&self.lanes);
            let now = self.now();
            lanes
                .get(key)
                .filter(|l| l.recovering)
                .map_or(Duration::ZERO, |l| l.local.ahead(now))
        };
        let tolerance = interval * self.config.burst;
        if !lock(&self.clock).within(CLOCK_ERROR) {
            self.sample_time().await;
        }
        let mut conn = self.conn.clone();
        // The wait is counted from before the call: a late answer (a busy
        // machine) shortens the hold instead of shifting the slot.
        let before = self.now();
        let asked = script::take(
            &mut conn, key, interval, tolerance, max_wait, floor, SETTLING,
        );
        let shared = match tokio::time::timeout(REDIS_TIMEOUT, asked).await {
            Ok(Ok(shared)) => shared,
            Ok(Err(e)) => {
                self.redis_down(&e.to_string());
                return self.take_locally(key, None).decision();
            }
            Err(_) => {
                self.redis_down("no answer within 300 ms");
                return self.take_locally(key, None).decision();
            }
        };
        // On Redis's clock, mapped to this one (see `clock`); counted from
        // before the call until there is a pairing.
        let (slot, team_end) = {
            let mut clock = lock(&self.clock);
            clock.sample(before, self.now(), shared.now);
            let at = |after: Duration| {
                let redis = shared
                    .now
                    .saturating_add(i64::try_from(after.as_micros()).unwrap_or(0));
                clock.local(redis).unwrap_or(before + after)
            };
            (at(shared.wait), at(shared.ahead))
        };
        let mut proxies = None;
        if let Some(lane) = lock(&self.lanes).get_mut(key) {
            lane.recovering = false;
            lane.team_end = team_end;
            if shared.granted {
                lane.local.note(slot, interval);
            }
            proxies = (lane.team.now != 0).then_some(lane.team.alive);
        }
        let mode = Mode::Shared { proxies };
        if !shared.granted {
            return Decision::Refuse(shared.wait.saturating_sub(max_wait), mode);
        }
        let slot = self.refine(slot, shared.now, shared.wait).await;
        Decision::Hold(slot.saturating_sub(self.now()), mode)
    }

    /// While the clock pairing is poor (a busy machine, a new connection)
    /// and the slot far enough away, naps and pairs the clocks again, then
    /// maps the slot anew: two slots mapped with pairings off by different
    /// amounts could otherwise be sent together.
    async fn refine(&self, mut slot: Duration, redis_now: i64, wait: Duration) -> Duration {
        let redis_slot = redis_now.saturating_add(i64::try_from(wait.as_micros()).unwrap_or(0));
        for _ in 0..20 {
            if lock(&self.clock).within(CLOCK_ERROR) || slot <= self.now() + REFINE_NAP * 2 {
                break;
            }
            tokio::time::sleep(REFINE_NAP).await;
            self.sample_time().await;
            if let Some(better) = lock(&self.clock).local(redis_slot) {
                slot = better;
            }
        }
        slot
    }

    /// A slot from this proxy's own schedule, at its share of the rate,
    /// unless it would fall after `until` (the switch back to Redis).
    fn take_locally(&self, key: &str, until: Option<Duration>) -> Local {
        let now = self.now();
        let mut lanes = lock(&self.lanes);
        let Some(lane) = lanes.get_mut(key) else {
            // Made by `take` just before; a sweep cannot remove a lane
            // used this recently.
            return Local::Decided(Decision::Refuse(
                Duration::from_secs(1),
                Mode::Shared { proxies: None },
            ));
        };
        let proxies = lane.team.alive.max(1);
        let team_interval = self.config.interval();
        if !lane.recovering {
            // Leaving the team's schedule: start after its end (held
            // requests of every proxy are still going out until then),
            // plus one interval per proxy (others may have taken slots
            // since this one last asked); its slots are then its own
            // share of Redis's clock, so that the proxies interleave.
            let rank = u32::try_from(lane.team.rank).unwrap_or(0);
            let margin = u32::try_from(proxies).unwrap_or(u32::MAX);
            lane.local
                .start_no_earlier(lane.team_end + team_interval * margin.saturating_add(rank));
            lane.recovering = true;
        }
        let mode = Mode::Local {
            share: self.config.rate / proxies as f64,
            proxies,
        };
        let interval = team_interval * u32::try_from(proxies).unwrap_or(u32::MAX);
        let mut trial = lane.local.clone();
        let taken = trial.take(now, interval, Duration::ZERO, self.config.max_wait);
        // Onto this proxy's own slots of Redis's clock (see `own_slot`).
        let taken = match (taken, lock(&self.clock).clone()) {
            (Slot::After(wait), clock) => {
                let micros = |d: Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX / 4);
                let snapped = clock.redis(now + wait).and_then(|at| {
                    let own = local::own_slot(
                        at,
                        micros(team_interval),
                        i64::try_from(lane.team.rank).unwrap_or(0),
                        i64::try_from(proxies).unwrap_or(1),
                    );
                    clock.local(own)
                });
                match snapped {
                    Some(at) if at >= now => {
                        trial.note(at, interval);
                        Slot::After(at - now)
                    }
                    _ => Slot::After(wait),
                }
            }
            (refused, _) => refused,
        };
        match taken {
            Slot::After(wait) if until.is_some_and(|u| now + wait > u) => Local::AfterSwitch,
            Slot::After(wait) => {
                lane.local = trial;
                Local::Decided(Decision::Hold(wait, mode))
            }
            Slot::Refused { wait } => Local::Decided(Decision::Refuse(
                wait.saturating_sub(self.config.max_wait),
                mode,
            )),
        }
    }

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn redis_down(&self, why: &str) {
        if lock(&self.health).failed(self.now()) {
            let proxies = lock(&self.lanes)
                .values()
                .map(|l| l.team.alive)
                .max()
                .unwrap_or(1);
            eprintln!(
                "pacer-proxy: Redis unreachable ({why}): pacing alone at {:.3}/s, \
                 the team rate {}/s shared among {proxies} proxies",
                self.config.rate / proxies as f64,
                self.config.rate
            );
        }
    }

    fn set_team(&self, key: &str, team: Team) {
        if let Some(lane) = lock(&self.lanes).get_mut(key) {
            lane.team = team;
        }
    }

    /// Records this proxy's heartbeat in one budget and learns how many
    /// proxies share it.
    async fn beat(&self, key: &str) {
        let mut conn = self.conn.clone();
        let before = self.now();
        let beat = script::beat(&mut conn, key, &self.id, ALIVE_WINDOW, Duration::ZERO);
        if let Ok(Ok(team)) = tokio::time::timeout(REDIS_TIMEOUT, beat).await {
            lock(&self.clock).sample(before, self.now(), team.now);
            self.set_team(key, team);
        }
    }

    /// Connects, and pairs the clocks with a few quick `TIME` calls before
    /// the first request needs them.
    async fn warm_up(&self) {
        for _ in 0..3 {
            self.sample_time().await;
        }
    }

    /// One `TIME` call, to pair the clocks.
    async fn sample_time(&self) {
        let mut conn = self.conn.clone();
        let before = self.now();
        let cmd = redis::cmd("TIME");
        let time = cmd.query_async::<(i64, i64)>(&mut conn);
        if let Ok(Ok((secs, micros))) = tokio::time::timeout(REDIS_TIMEOUT, time).await {
            let redis_us = secs.saturating_mul(1_000_000).saturating_add(micros);
            lock(&self.clock).sample(before, self.now(), redis_us);
        }
    }

    /// A heartbeat in every budget used lately; forgets the long unused.
    async fn beat_all(&self) {
        if !lock(&self.health).is_up() {
            return;
        }
        let keys: Vec<String> = {
            let mut lanes = lock(&self.lanes);
            lanes.retain(|_, l| l.last_used.elapsed() < LANE_IDLE);
            lanes.keys().cloned().collect()
        };
        for key in keys {
            self.beat(&key).await;
        }
    }

    /// How many proxies this one last saw alive in the budget for
    /// `client_key` (for tests and diagnostics).
    pub fn proxies_seen(&self, client_key: &str) -> Option<usize> {
        let key = script::key(&self.name_for(client_key));
        lock(&self.lanes).get(&key).map(|l| l.team.alive)
    }
}
