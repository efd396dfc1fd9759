//! One rate budget for a team: every proxy that names the same Redis and
//! budget takes its requests' slots from one GCRA kept there ([`script`]),
//! holds each request until its slot, and refuses (429) one whose slot is
//! further away than the longest hold.
//!
//! When Redis cannot be reached (or answers too slowly), each proxy paces
//! alone at its share of the rate: the rate divided by the proxies whose
//! heartbeats it last saw in Redis within a minute ([`local`]). It says so
//! in a header and on stderr, tries Redis again every quarter second, and,
//! back on Redis, asks for no slot before its own local schedule's next
//! one, so the return makes no burst.

mod config;
pub mod fields;
pub mod local;
pub mod script;

pub use config::BudgetConfig;
use local::{LocalGcra, Slot};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use script::Shared;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long one Redis call may take before the proxy paces alone.
const REDIS_TIMEOUT: Duration = Duration::from_millis(300);
/// How often a proxy pacing alone tries Redis again.
const PROBE_EVERY: Duration = Duration::from_millis(250);
/// How often each proxy records its heartbeat in the budgets it uses.
const BEAT_EVERY: Duration = Duration::from_secs(2);
/// How recent a heartbeat must be for its proxy to count as alive.
const ALIVE_WINDOW: Duration = Duration::from_secs(60);
/// A budget unused this long is forgotten by the proxy (Redis keeps it).
const LANE_IDLE: Duration = Duration::from_secs(600);

/// Where a decision was made.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// By the team's budget in Redis.
    Shared,
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
            Mode::Shared => "shared",
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

/// One budget as this proxy knows it.
struct Lane {
    /// This proxy's own schedule: its fallback, and the floor on return.
    local: LocalGcra,
    /// Proxies alive at the last heartbeat (this one included).
    alive: usize,
    /// Set while pacing alone; the first shared slot after it is floored.
    recovering: bool,
    last_used: Instant,
}

/// Whether Redis answered lately.
struct Health {
    down: bool,
    last_try: Instant,
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
            health: Mutex::new(Health {
                down: false,
                last_try: Instant::now(),
            }),
        });
        let beats = Arc::downgrade(&budget);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(BEAT_EVERY);
            loop {
                every.tick().await;
                let Some(budget) = beats.upgrade() else {
                    return;
                };
                budget.beat_all().await;
            }
        });
        Ok(budget)
    }

    /// The team's rate.
    pub fn rate(&self) -> f64 {
        self.config.rate
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
        let interval = self.config.interval();
        let max_wait = self.config.max_wait;
        let floor = {
            let mut lanes = lock(&self.lanes);
            let now = self.now();
            let lane = lanes.entry(key.clone()).or_insert_with(|| {
                // A first heartbeat at once, so that the share is right
                // even if Redis goes away in the next seconds.
                let me = Arc::downgrade(self);
                let beat_key = key.clone();
                tokio::spawn(async move {
                    if let Some(me) = me.upgrade() {
                        me.beat(&beat_key).await;
                    }
                });
                Lane {
                    local: LocalGcra::default(),
                    alive: 1,
                    recovering: false,
                    last_used: Instant::now(),
                }
            });
            lane.last_used = Instant::now();
            if lane.recovering {
                lane.local.ahead(now)
            } else {
                Duration::ZERO
            }
        };
        if self.try_redis() {
            let tolerance = interval * self.config.burst;
            let mut conn = self.conn.clone();
            let asked = script::take(&mut conn, &key, interval, tolerance, max_wait, floor);
            match tokio::time::timeout(REDIS_TIMEOUT, asked).await {
                Ok(Ok(shared)) => {
                    self.redis_up();
                    let now = self.now();
                    let mut lanes = lock(&self.lanes);
                    if let Some(lane) = lanes.get_mut(&key) {
                        lane.recovering = false;
                        if let Shared::After(wait) = shared {
                            lane.local.note(now + wait, interval);
                        }
                    }
                    return match shared {
                        Shared::After(wait) => Decision::Hold(wait, Mode::Shared),
                        Shared::Refused(wait) => {
                            Decision::Refuse(wait.saturating_sub(max_wait), Mode::Shared)
                        }
                    };
                }
                Ok(Err(e)) => self.redis_down(&e.to_string()),
                Err(_) => self.redis_down("no answer within 300 ms"),
            }
        }
        self.take_locally(&key)
    }

    /// A slot from this proxy's own schedule, at its share of the rate.
    fn take_locally(&self, key: &str) -> Decision {
        let now = self.now();
        let mut lanes = lock(&self.lanes);
        let Some(lane) = lanes.get_mut(key) else {
            // Made by `take` just before; a concurrent sweep cannot
            // remove a lane used this recently.
            return Decision::Refuse(Duration::from_secs(1), Mode::Shared);
        };
        lane.recovering = true;
        let proxies = lane.alive.max(1);
        let mode = Mode::Local {
            share: self.config.rate / proxies as f64,
            proxies,
        };
        let interval = self.config.interval() * u32::try_from(proxies).unwrap_or(u32::MAX);
        match lane
            .local
            .take(now, interval, Duration::ZERO, self.config.max_wait)
        {
            Slot::After(wait) => Decision::Hold(wait, mode),
            Slot::Refused { wait } => {
                Decision::Refuse(wait.saturating_sub(self.config.max_wait), mode)
            }
        }
    }

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    /// Whether to ask Redis now: always while it answers, once per probe
    /// period while it does not.
    fn try_redis(&self) -> bool {
        let mut health = lock(&self.health);
        if !health.down {
            return true;
        }
        if health.last_try.elapsed() >= PROBE_EVERY {
            health.last_try = Instant::now();
            return true;
        }
        false
    }

    fn redis_up(&self) {
        let mut health = lock(&self.health);
        if health.down {
            health.down = false;
            eprintln!("pacer-proxy: Redis answers again: back on the team budget");
        }
    }

    fn redis_down(&self, why: &str) {
        let mut health = lock(&self.health);
        if !health.down {
            let proxies = lock(&self.lanes)
                .values()
                .map(|l| l.alive)
                .max()
                .unwrap_or(1);
            eprintln!(
                "pacer-proxy: Redis unreachable ({why}): pacing alone at {:.3}/s, \
                 the team rate {}/s shared among {proxies} proxies",
                self.config.rate / proxies as f64,
                self.config.rate
            );
        }
        health.down = true;
        health.last_try = Instant::now();
    }

    /// Records this proxy's heartbeat in one budget and learns how many
    /// proxies share it.
    async fn beat(&self, key: &str) {
        let mut conn = self.conn.clone();
        let beat = script::beat(&mut conn, key, &self.id, ALIVE_WINDOW);
        if let Ok(Ok(alive)) = tokio::time::timeout(REDIS_TIMEOUT, beat).await {
            if let Some(lane) = lock(&self.lanes).get_mut(key) {
                lane.alive = alive;
            }
        }
    }

    /// A heartbeat in every budget used lately; forgets the long unused.
    async fn beat_all(&self) {
        if lock(&self.health).down {
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
        lock(&self.lanes).get(&key).map(|l| l.alive)
    }
}
