//! One rate budget shared by several tabs (same endpoint, same key).
//!
//! Tabs that run against the same budget elect one *leader* (in the browser
//! with a Web Lock; here the election is an input: [`Tab::lead`]). The leader
//! paces *grants* with a GCRA at the shared rate and hands them round-robin
//! to the tabs that asked for one; every tab (the leader too) sends only on a
//! grant, at the instant the grant names. Messages ([`Msg`]) go to every tab
//! (a `BroadcastChannel`), so every tab knows every tab's demand and the
//! latest grant: a new leader starts its GCRA from the last grant it heard,
//! never with a burst, and knows at once who is waiting.
//!
//! Times are on a clock all tabs share (in the browser
//! `performance.timeOrigin + performance.now()`), passed in as `now`.
//!
//! A tab that has never seen another one passes its sends through untouched
//! (exactly the lone pacer): the leader only records them, so that a tab
//! joining later is granted its first send a full interval after the last.
//! Once a run has seen another tab it keeps asking for grants to its end.
//!
//! Grants are planned [`LEAD`] ahead of the instant they name, so that the
//! message has time to reach its tab. A tab's main thread is shared with
//! its page (and in Chromium often with the other tabs of the origin), so
//! a grant can still come, or its send wake up, tens of ms late. Such a
//! send goes late rather than give its slot up (which cost a whole
//! interval), and says when it went ([`Msg::Sent`]): every tab keeps the
//! next send at least a spacing after the latest one it heard of, and the
//! leader moves its later grants by as much. Only a grant that another
//! tab's later grant has overtaken is given up. The leader widens its
//! spacing by a safety margin learned from the 429s the tabs report (the
//! single-tab pacer's [`SafetyMargin`]).

mod gate;
mod wire;

pub use gate::{Bus, Coordinator, Gated, Role, Trace};
pub use wire::{MAX_INSTANT, MAX_MARGIN, MAX_RETRY_AFTER, SKEW};

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::gcra::{Gcra, Quota};
use crate::schedule::{MarginPolicy, SafetyMargin};

/// A tab's random id, drawn once per run.
pub type TabId = u64;

/// The most successes one message can report that the leader acts on: a
/// tab reports its count at least every [`BEAT`], far below this at any
/// rate a page keeps up, and a forged count costs a bounded loop.
const MAX_NEW_OK: u64 = 10_000;

/// How far ahead of the instant it names a grant is handed out: enough for
/// a leader woken late and a message to a busy tab (both measured at up to
/// a few tens of ms in headless Chromium on a loaded machine).
pub const LEAD: Duration = Duration::from_millis(50);
/// How far ahead of its instant a granted send is handed to a transport
/// that times its sends itself ([`crate::driver::Transport::send_at`]): the
/// tab's own wake-up may be this late (a busy page) and the send still goes
/// on time. A later send of another tab heard after the hand-over no longer
/// moves it, so not the whole [`LEAD`].
pub const HANDOFF: Duration = Duration::from_millis(30);
/// A grant names an instant at least this far ahead of when it is made.
pub const MIN_LEAD: Duration = Duration::from_millis(8);
/// A tab says it is alive (and what it wants) this often.
pub const BEAT: Duration = Duration::from_millis(1000);
/// A tab not heard from for this long is gone (closed without a word).
pub const GONE: Duration = Duration::from_millis(3500);

/// The leader's safety margin: like the lone pacer's, but a 429 widens it
/// by 2 ms at least (not 6: the tabs' sends are planned ahead, so only their
/// timers and the network jitter), it decays twice as fast, and it stops
/// at 4 % of the interval (not 10 %): in headless Chromium on a loaded
/// machine most 429s came after a request that took 10–20 ms longer than
/// usual to reach the server, which no small margin absorbs, and a margin
/// that widened on each of them held the tabs at 0.90 of the limit.
pub const LEADER_MARGIN: MarginPolicy = MarginPolicy {
    initial: Duration::from_millis(1),
    initial_fraction: 0.01,
    step: Duration::from_millis(2),
    max_fraction: 0.04,
    catch_up: Duration::ZERO,
    decay_every: 10,
    decay: 0.9,
};

/// What tabs tell each other. Every message reaches every tab.
///
/// Read back through a flat record of optional fields (`shared/wire.rs`):
/// the same JSON, with far less code than serde's tagged-enum reader.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case", try_from = "wire::WireMsg")]
pub enum Msg {
    /// A tab running against the budget: permits asked for and received
    /// so far (cumulative, so a lost or reordered message costs nothing),
    /// its successes so far, and the rate it was set to.
    Want {
        /// The tab.
        tab: TabId,
        /// Permits asked for, in all.
        asked: u64,
        /// Permits received, in all.
        got: u64,
        /// Successful answers, in all (the leader's margin decays on them).
        ok: u64,
        /// The tab's allotted rate.
        rate: f64,
    },
    /// The leader: `tab` may send once, at `at`.
    Grant {
        /// The tab.
        tab: TabId,
        /// The instant (shared clock).
        at: Duration,
    },
    /// The leader says it leads (on taking the lead and every [`BEAT`]).
    Lead {
        /// The leader.
        leader: TabId,
        /// The rate it paces at.
        rate: f64,
        /// The margin it adds to the spacing.
        margin: Duration,
        /// The latest grant it made.
        last: Option<Duration>,
    },
    /// `tab` sent on its grant at `at`, at `sent` (later, if it was late).
    Sent {
        /// The tab.
        tab: TabId,
        /// The grant's instant.
        at: Duration,
        /// When the send went.
        sent: Duration,
    },
    /// A send of `tab` granted at `at` was refused with a 429.
    Limited {
        /// The tab.
        tab: TabId,
        /// The grant's instant.
        at: Duration,
        /// The server's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// `tab` stops leading (frozen) or leaves (`gone`: run over, tab
    /// closed). `last` is the latest grant it knows was or will be used.
    Bye {
        /// The tab.
        tab: TabId,
        /// It leaves the budget altogether.
        gone: bool,
        /// The latest grant in use.
        last: Option<Duration>,
        /// Its margin, if it led.
        margin: Option<Duration>,
    },
}

/// What a tab's send must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ask {
    /// Go now (a lone tab: nothing changes).
    Now,
    /// Wait for a grant ([`Tab::take_permits`]).
    Wait,
}

/// What a tab knows of another (or of itself).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Peer {
    asked: u64,
    /// Grants seen for it (or the `got` it reported, if more).
    granted: u64,
    ok: u64,
    rate: f64,
    heard: Duration,
    away: Away,
}

/// Whether a tab can take grants now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Away {
    /// It can.
    Here,
    /// It let the lock go (it leaves or freezes) and its goodbye is on the
    /// way: a grant now would be lost with it.
    Leaving,
    /// It said it is frozen: no grants until it asks again.
    Frozen,
}

impl Peer {
    fn outstanding(&self) -> u64 {
        if self.away != Away::Here {
            return 0;
        }
        self.asked.saturating_sub(self.granted)
    }
}

/// The leader's side: the GCRA over grants, the margin, the round-robin.
#[derive(Clone, Debug)]
pub struct Leader {
    rate: f64,
    gcra: Gcra,
    margin: SafetyMargin,
    /// The last tab served (round-robin starts after it).
    cursor: Option<TabId>,
    /// The latest grant made.
    last: Option<Duration>,
    /// It has made a grant (or recorded a send).
    granted_any: bool,
    /// 429s of grants up to this instant were made at a narrower spacing
    /// than the present one: they do not widen it again.
    widened_upto: Option<Duration>,
}

impl Leader {
    /// A leader pacing at `rate` whose first grant comes no sooner than a
    /// spacing after `last` (the latest grant heard of), with `margin` (the
    /// previous leader's) if known.
    pub fn new(rate: f64, last: Option<Duration>, margin: Option<Duration>) -> Self {
        let quota = Quota::per_second(rate).unwrap_or_else(|| Quota::per_second(1.0).unwrap());
        let policy = LEADER_MARGIN;
        let interval = quota.emission_interval();
        let mut leader = Self {
            rate: quota.rate(),
            gcra: Gcra::new(quota),
            // Adopt the previous leader's margin (it was learned from 429s)
            // as where the margin starts, not as its floor: at a higher
            // rate it may be over this leader's cap, and it decays as any.
            margin: match margin {
                Some(m) => SafetyMargin::starting_at(policy, interval, m),
                None => SafetyMargin::new(policy, interval),
            },
            cursor: None,
            last,
            granted_any: false,
            widened_upto: last,
        };
        leader.apply();
        if let Some(last) = last {
            leader.gcra.hold_until(last + leader.gcra.interval());
        }
        leader
    }

    /// The spacing between grants.
    pub fn interval(&self) -> Duration {
        self.gcra.interval()
    }

    /// The margin in the spacing.
    pub fn margin(&self) -> Duration {
        self.margin.value()
    }

    /// The rate it paces at.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    fn base(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.rate)
    }

    fn apply(&mut self) {
        let interval = self.base() + self.margin.value();
        self.gcra.set_interval(interval, std::num::NonZeroU32::MIN);
    }

    fn set_rate(&mut self, rate: f64) {
        if rate.is_finite() && rate > 0.0 && rate != self.rate {
            self.rate = rate;
            self.margin.rescale(self.base());
            self.apply();
        }
    }

    /// A send the lone tab made by itself at `at`: the next grant keeps a
    /// spacing from it.
    fn record(&mut self, at: Duration) {
        self.gcra.hold_until(at + self.gcra.interval());
        self.granted_any = true;
        self.last = Some(self.last.map_or(at, |l| l.max(at)));
    }

    fn on_limited(&mut self, at: Duration, retry_after: Option<Duration>, now: Duration) {
        if self.widened_upto.is_none_or(|w| at > w) {
            self.margin.on_rate_limited(self.base());
            self.apply();
            self.widened_upto = self.last;
        }
        if let Some(wait) = retry_after {
            self.gcra.hold_until(now + wait);
        }
    }

    fn on_success(&mut self) {
        if self.margin.on_success(self.base()) {
            self.apply();
        }
    }
}

/// One tab's view of the shared budget.
#[derive(Clone, Debug)]
pub struct Tab {
    id: TabId,
    rate: f64,
    /// Decided: the lock answered (we lead, or someone else does).
    decided: bool,
    /// Another tab was seen during this run: every send waits for a grant.
    shared: bool,
    leader: Option<Leader>,
    /// Who leads, as last heard (`Lead`), and when.
    leader_heard: Option<(TabId, Duration)>,
    /// The last leader's margin, as heard.
    margin_heard: Option<Duration>,
    asked: u64,
    got: u64,
    ok: u64,
    /// Grants for this tab not yet taken by a send: the instants they name.
    permits: VecDeque<Duration>,
    /// Grants for this tab that found no send waiting.
    wasted: u64,
    /// Grants for this tab not sent on yet.
    unsent: Vec<Duration>,
    /// Every tab running against the budget (this one too).
    peers: BTreeMap<TabId, Peer>,
    /// The latest grant heard of (ours, or any tab's).
    last_grant: Option<Duration>,
    /// The latest grants heard of, with their tab (to forget the unused
    /// ones of a tab that leaves).
    recent: VecDeque<(Duration, TabId)>,
    /// The latest grant that fell out of `recent`.
    older: Option<Duration>,
    /// The latest grant of ours that was sent on (or handed to another tab).
    last_used: Option<Duration>,
    /// The latest grant sent on that this tab knows of (its own or another
    /// tab's): the grant's instant and when the send went.
    last_sent: Option<(Duration, Duration)>,
    outbox: Vec<Msg>,
    next_beat: Duration,
    gone: bool,
    /// Alone, leading: the sends that waited for the election went late,
    /// so the next send goes no sooner than this (a spacing after them).
    alone_until: Option<Duration>,
    /// Another tab may already pace this budget: sends wait for the election.
    expect_others: bool,
}

impl Tab {
    /// A tab that starts a run at `rate` at `now`; undecided until the
    /// election answers ([`Tab::lead`] or [`Tab::follow`]).
    pub fn new(id: TabId, rate: f64, now: Duration) -> Self {
        let mut tab = Self {
            id,
            rate: local_rate(rate),
            decided: false,
            shared: false,
            leader: None,
            leader_heard: None,
            margin_heard: None,
            asked: 0,
            got: 0,
            ok: 0,
            permits: VecDeque::new(),
            wasted: 0,
            unsent: Vec::new(),
            peers: BTreeMap::new(),
            last_grant: None,
            recent: VecDeque::new(),
            older: None,
            last_used: None,
            last_sent: None,
            outbox: Vec::new(),
            next_beat: now,
            gone: false,
            alone_until: None,
            expect_others: false,
        };
        tab.touch_self(now);
        tab
    }

    /// Another tab may already pace this budget (in the browser: a leader
    /// of this origin said so lately): until the election answers, sends
    /// wait instead of going at once. Sent at once they would be unknown to
    /// that leader, and come within a spacing of the sends it paces: in the
    /// bench every tab that joined a running one drew a 429 so.
    pub fn expect_others(&mut self) {
        self.expect_others = true;
    }

    /// This tab's id.
    pub fn id(&self) -> TabId {
        self.id
    }

    /// True while this tab leads.
    pub fn is_leader(&self) -> bool {
        self.leader.is_some()
    }

    /// True once another tab shared the budget during this run.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// The leader, while this tab leads.
    pub fn leader(&self) -> Option<&Leader> {
        self.leader.as_ref()
    }

    /// Other tabs running against the budget now.
    pub fn others(&self) -> usize {
        self.peers.len().saturating_sub(1)
    }

    /// The budget's rate: the lowest rate any tab running on it was set to.
    pub fn shared_rate(&self) -> f64 {
        self.peers
            .values()
            .map(|p| p.rate)
            .fold(self.rate, f64::min)
    }

    /// Grants for this tab that came when no send was waiting.
    pub fn wasted(&self) -> u64 {
        self.wasted
    }

    /// True after [`Tab::leave`].
    pub fn is_gone(&self) -> bool {
        self.gone
    }

    /// Messages to send to every other tab.
    pub fn take_outbox(&mut self) -> Vec<Msg> {
        std::mem::take(&mut self.outbox)
    }

    /// The user changed this tab's rate.
    pub fn set_rate(&mut self, rate: f64, now: Duration) {
        if rate.is_finite() && rate > 0.0 {
            self.rate = local_rate(rate);
            self.touch_self(now);
            self.say_want(now);
        }
    }

    fn touch_self(&mut self, now: Duration) {
        let p = self.peers.entry(self.id).or_insert(Peer {
            asked: 0,
            granted: 0,
            ok: 0,
            rate: self.rate,
            heard: now,
            away: Away::Here,
        });
        p.asked = self.asked;
        p.granted = p.granted.max(self.got);
        p.ok = self.ok;
        p.rate = self.rate;
        p.heard = now;
    }

    fn say_want(&mut self, now: Duration) {
        if self.gone {
            return;
        }
        self.outbox.push(Msg::Want {
            tab: self.id,
            asked: self.asked,
            got: self.got,
            ok: self.ok,
            rate: self.rate,
        });
        self.next_beat = now + BEAT;
    }

    /// The election made this tab the leader.
    pub fn lead(&mut self, now: Duration) {
        if self.gone || self.leader.is_some() {
            return;
        }
        self.decided = true;
        // The lock came from the tab that led: it leaves or freezes, and
        // its goodbye may not be here yet.
        if let Some((previous, _)) = self.leader_heard {
            if let Some(p) = self
                .peers
                .get_mut(&previous)
                .filter(|_| previous != self.id)
            {
                p.away = Away::Leaving;
            }
        }
        self.leader = Some(Leader::new(
            self.shared_rate(),
            self.last_grant,
            self.margin_heard,
        ));
        if let Some((at, sent)) = self.last_sent {
            self.rebase(at, sent);
        }
        self.leader_heard = Some((self.id, now));
        if self.shared {
            self.say_lead(now);
        } else if let Some(leader) = &mut self.leader {
            // Alone: sends that asked before the election go now, spaced,
            // and the ones after them keep the spacing.
            while self.got < self.asked {
                let slot = leader.gcra.earliest(now);
                leader.record(slot);
                self.alone_until = Some(slot + leader.interval());
                self.got += 1;
                self.permits.push_back(slot);
                self.unsent.push(slot);
                heard(
                    &mut self.recent,
                    &mut self.older,
                    &mut self.last_grant,
                    slot,
                    self.id,
                );
            }
        }
        // Anyone who asked before the election was decided now waits on us.
        self.say_want(now);
    }

    /// The election said another tab leads.
    pub fn follow(&mut self, now: Duration) {
        self.decided = true;
        self.shared = true;
        self.say_want(now);
    }

    /// This tab stops leading (the page is frozen): it says so with the
    /// latest grant in use, so that the next leader starts after it.
    pub fn step_down(&mut self, now: Duration) {
        if let Some(leader) = self.leader.take() {
            self.outbox.push(Msg::Bye {
                tab: self.id,
                gone: false,
                last: self.in_use(),
                margin: Some(leader.margin()),
            });
            self.margin_heard = Some(leader.margin());
            self.shared = true;
            self.next_beat = now;
        }
    }

    /// The run is over or the page is left: says goodbye.
    pub fn leave(&mut self) {
        if self.gone {
            return;
        }
        let margin = self.leader.take().map(|l| l.margin());
        self.outbox.push(Msg::Bye {
            tab: self.id,
            gone: true,
            last: self.in_use(),
            margin,
        });
        self.gone = true;
        self.permits.clear();
    }

    /// The latest grant this tab knows to be in use: its own permits not
    /// yet sent on are given up (the next leader may hand their slots out).
    fn in_use(&self) -> Option<Duration> {
        let id = self.id;
        self.recent
            .iter()
            .filter(|&&(at, tab)| !(tab == id && self.unsent.contains(&at)))
            .map(|&(at, _)| at)
            .max()
            .max(self.older)
            .max(self.last_used)
    }

    /// A send wants to go at `now`.
    pub fn ask(&mut self, now: Duration) -> Ask {
        if self.gone {
            return Ask::Now;
        }
        if !self.shared && (self.decided || !self.expect_others) {
            // Alone (or, with no sign of another tab, not yet known
            // otherwise: the election takes a few ms, which a lone tab need
            // not wait for): as if there were no other tab; the leader only
            // records.
            if let Some(leader) = &mut self.leader {
                let held = self.alone_until.filter(|&u| u > now);
                if held.is_some() || !self.unsent.is_empty() {
                    let slot = held.unwrap_or(now);
                    // A spacing after the sends that waited for the
                    // election (the scheduler paced from when they asked).
                    leader.record(slot);
                    self.alone_until = Some(slot + leader.interval());
                    self.asked += 1;
                    self.got += 1;
                    self.touch_self(now);
                    self.permits.push_back(slot);
                    self.unsent.push(slot);
                    self.heard_grant(slot, self.id);
                    self.last_used = self.last_grant;
                    return Ask::Wait;
                }
                self.alone_until = None;
                leader.record(now);
            }
            self.heard_grant(now, self.id);
            self.last_used = self.last_grant;
            return Ask::Now;
        }
        self.asked += 1;
        self.touch_self(now);
        self.say_want(now);
        Ask::Wait
    }

    /// A send that waited gives up (its run was cancelled).
    pub fn withdraw(&mut self, now: Duration) {
        if self.asked > self.got {
            self.asked -= 1;
            self.touch_self(now);
            self.say_want(now);
        }
    }

    /// When a send granted at `at` may go: at `at`, or a spacing after the
    /// latest send heard of, if that went late. `None`
    /// when a later grant was already sent on: this one was overtaken and
    /// must be given up (sent now it would come too close after that one).
    pub fn send_time(&self, at: Duration) -> Option<Duration> {
        match self.last_sent {
            Some((latest, _)) if latest > at => None,
            Some((_, sent)) => Some(at.max(sent + self.spacing())),
            None => Some(at),
        }
    }

    /// The spacing between sends: the leader's, or as the leader last said.
    fn spacing(&self) -> Duration {
        if let Some(leader) = &self.leader {
            return leader.interval();
        }
        let base = Duration::from_secs_f64(1.0 / self.shared_rate());
        base + self.margin_heard.unwrap_or(LEADER_MARGIN.initial)
    }

    /// A send granted at `at` went at `now`: the other tabs hear when.
    pub fn sent(&mut self, at: Duration, now: Duration) {
        self.last_used = self.last_used.max(Some(at));
        if let Some(i) = self.unsent.iter().position(|&u| u == at) {
            self.unsent.swap_remove(i);
        }
        self.heard_sent(at, now);
        if self.shared && !self.gone {
            self.outbox.push(Msg::Sent {
                tab: self.id,
                at,
                sent: now,
            });
        }
    }

    fn heard_sent(&mut self, at: Duration, sent: Duration) {
        if self.last_sent.is_none_or(|(latest, _)| at >= latest) {
            self.last_sent = Some((at, sent));
        }
        self.rebase(at, sent);
    }

    /// The leader: a send granted at `at` went at `sent`; if that was late,
    /// the grants after it go later by as much (each tab keeps a spacing
    /// after the one before), and so must the next grant. (Tolerating a
    /// few ms of lateness instead saves its mean but lets a late send and
    /// an early one come closer than the spacing: 429s, then a wider margin.)
    fn rebase(&mut self, at: Duration, sent: Duration) {
        let Some(leader) = &mut self.leader else {
            return;
        };
        if sent <= at {
            return;
        }
        let interval = leader.interval();
        let mut later: Vec<Duration> = self
            .recent
            .iter()
            .map(|&(g, _)| g)
            .filter(|&g| g > at)
            .collect();
        later.sort();
        let last = later
            .into_iter()
            .fold(sent, |effective, g| g.max(effective + interval));
        leader.gcra.hold_until(last + interval);
    }

    /// A send succeeded.
    pub fn succeeded(&mut self, now: Duration) {
        self.ok += 1;
        self.touch_self(now);
        if let Some(leader) = &mut self.leader {
            leader.on_success();
        }
    }

    /// A send granted at `at` drew a 429.
    pub fn limited(&mut self, at: Duration, retry_after: Option<Duration>, now: Duration) {
        if let Some(leader) = &mut self.leader {
            leader.on_limited(at, retry_after, now);
        } else {
            self.outbox.push(Msg::Limited {
                tab: self.id,
                at,
                retry_after,
            });
        }
    }

    /// Takes the grants that arrived for this tab's waiting sends: the
    /// instants at which they may go.
    pub fn take_permits(&mut self) -> Vec<Duration> {
        self.permits.drain(..).collect()
    }

    /// A grant for this tab at `at` found no send waiting (the send gave up).
    pub fn unused(&mut self, at: Duration) {
        self.wasted += 1;
        if let Some(i) = self.unsent.iter().position(|&u| u == at) {
            self.unsent.swap_remove(i);
        }
    }

    /// Takes in a message from another tab.
    ///
    /// A message out of bounds ([`Msg::bounded`]) is dropped; instants too
    /// far ahead of `now` are brought back ([`Msg::near`]); a grant for a
    /// tab not known to run against the budget is ignored.
    pub fn on_message(&mut self, msg: Msg, now: Duration) {
        if self.gone {
            return;
        }
        let Ok(msg) = msg.bounded() else {
            return;
        };
        match msg.near(now) {
            Msg::Want {
                tab,
                asked,
                got,
                ok,
                rate,
            } => {
                if tab == self.id {
                    return;
                }
                let new = !self.peers.contains_key(&tab);
                let p = self.peers.entry(tab).or_insert(Peer {
                    asked,
                    granted: got,
                    ok,
                    rate,
                    heard: now,
                    away: Away::Here,
                });
                if p.away == Away::Frozen {
                    p.away = Away::Here;
                }
                let new_ok = ok.saturating_sub(p.ok).min(MAX_NEW_OK);
                p.asked = asked;
                p.granted = p.granted.max(got);
                p.ok = ok;
                p.rate = rate;
                p.heard = now;
                if let Some(leader) = &mut self.leader {
                    for _ in 0..new_ok {
                        leader.on_success();
                    }
                }
                if new && !self.shared {
                    self.shared = true;
                }
                if new && self.leader.is_some() {
                    self.say_lead(now);
                }
            }
            Msg::Grant { tab, at } => {
                if !self.peers.contains_key(&tab) {
                    return;
                }
                self.heard_grant(at, tab);
                if let Some(p) = self.peers.get_mut(&tab) {
                    p.granted += 1;
                }
                if tab == self.id {
                    self.receive(at);
                }
            }
            Msg::Lead {
                leader,
                rate: _,
                margin,
                last,
            } => {
                if leader == self.id {
                    return;
                }
                let changed = self.leader_heard.is_none_or(|(l, _)| l != leader);
                self.leader_heard = Some((leader, now));
                self.margin_heard = Some(margin);
                self.last_grant = self.last_grant.max(last);
                if !self.peers.contains_key(&leader) {
                    // A leader that runs nothing itself still shares.
                    self.shared = true;
                }
                if changed {
                    self.say_want(now);
                }
            }
            Msg::Sent { tab, at, sent } => {
                if tab != self.id {
                    self.heard_sent(at, sent);
                }
            }
            Msg::Limited {
                at, retry_after, ..
            } => {
                if let Some(leader) = &mut self.leader {
                    leader.on_limited(at, retry_after, now);
                }
            }
            Msg::Bye {
                tab,
                gone,
                last,
                margin,
            } => {
                if tab == self.id {
                    return;
                }
                // Its grants after `last` will not be used: their slots are free.
                let floor = last.unwrap_or_default();
                self.recent.retain(|&(at, t)| t != tab || at <= floor);
                self.last_grant = self
                    .recent
                    .iter()
                    .map(|&(at, _)| at)
                    .max()
                    .max(self.older)
                    .max(last);
                if margin.is_some() {
                    self.margin_heard = margin;
                }
                if gone {
                    self.peers.remove(&tab);
                } else if let Some(p) = self.peers.get_mut(&tab) {
                    p.away = Away::Frozen;
                }
                // The lock may reach us before the old leader's goodbye:
                // if we have not granted yet, start again from what it said.
                if let Some(leader) = &self.leader {
                    if !leader.granted_any {
                        self.leader = Some(Leader::new(
                            leader.rate,
                            self.last_grant,
                            self.margin_heard.or(Some(leader.margin())),
                        ));
                    }
                }
                if self.leader_heard.is_some_and(|(l, _)| l == tab) {
                    self.leader_heard = None;
                }
            }
        }
    }

    fn heard_grant(&mut self, at: Duration, tab: TabId) {
        heard(
            &mut self.recent,
            &mut self.older,
            &mut self.last_grant,
            at,
            tab,
        );
    }

    fn receive(&mut self, at: Duration) {
        self.got += 1;
        if self.got > self.asked {
            // Granted twice across a change of leader: nobody waits for it.
            self.got = self.asked;
            self.wasted += 1;
            return;
        }
        self.touch_self_granted();
        self.permits.push_back(at);
        self.unsent.push(at);
    }

    fn touch_self_granted(&mut self) {
        if let Some(p) = self.peers.get_mut(&self.id) {
            p.granted = p.granted.max(self.got);
        }
    }

    /// Does what is due at `now` (grants, if this tab leads; heartbeats;
    /// forgetting tabs gone silent) and says when to be called next.
    pub fn poll(&mut self, now: Duration) -> Option<Duration> {
        if self.gone {
            return None;
        }
        let id = self.id;
        self.peers
            .retain(|&tab, p| tab == id || now.saturating_sub(p.heard) < GONE);
        self.touch_self(now);
        if now >= self.next_beat {
            if self.shared || self.leader.is_none() {
                self.say_want(now);
            } else {
                self.next_beat = now + BEAT;
            }
            if self.leader.is_some() && self.shared {
                self.say_lead(now);
            }
        }
        let mut wake = self.next_beat;
        if self.leader.is_some() && self.shared {
            if let Some(at) = self.grant_due(now) {
                wake = wake.min(at);
            }
        }
        Some(wake)
    }

    fn say_lead(&mut self, _now: Duration) {
        let Some(leader) = &self.leader else { return };
        self.outbox.push(Msg::Lead {
            leader: self.id,
            rate: leader.rate(),
            margin: leader.margin(),
            last: self.last_grant,
        });
    }

    /// Hands out every grant due by `now + LEAD`; returns when the next
    /// one will be, if anyone waits.
    fn grant_due(&mut self, now: Duration) -> Option<Duration> {
        let rate = self.shared_rate();
        let leader = self.leader.as_mut()?;
        leader.set_rate(rate);
        loop {
            let tab = next_tab(&self.peers, leader.cursor)?;
            let slot = leader.gcra.earliest(now).max(now + MIN_LEAD);
            if slot > now + LEAD {
                return Some(slot - LEAD);
            }
            leader
                .gcra
                .check(slot)
                .expect("the earliest slot is always free");
            leader.cursor = Some(tab);
            leader.last = Some(slot);
            leader.granted_any = true;
            heard(
                &mut self.recent,
                &mut self.older,
                &mut self.last_grant,
                slot,
                tab,
            );
            if let Some(p) = self.peers.get_mut(&tab) {
                p.granted += 1;
            }
            self.outbox.push(Msg::Grant { tab, at: slot });
            if tab == self.id {
                self.got += 1;
                self.permits.push_back(slot);
                self.unsent.push(slot);
            } else {
                self.last_used = self.last_used.max(Some(slot));
            }
        }
    }
}

/// A rate this tab was set to, within the bounds every tab holds the
/// others' to (NaN, which no caller passes, as 1/s).
fn local_rate(rate: f64) -> f64 {
    if rate.is_nan() {
        1.0
    } else {
        rate.clamp(Quota::MIN_RATE, Quota::MAX_RATE)
    }
}

/// Notes a grant at `at` for `tab`.
fn heard(
    recent: &mut VecDeque<(Duration, TabId)>,
    older: &mut Option<Duration>,
    last: &mut Option<Duration>,
    at: Duration,
    tab: TabId,
) {
    *last = (*last).max(Some(at));
    recent.push_back((at, tab));
    if recent.len() > 32 {
        if let Some((old, _)) = recent.pop_front() {
            *older = (*older).max(Some(old));
        }
    }
}

/// The next tab after `cursor` (wrapping around) that waits for a grant.
fn next_tab(peers: &BTreeMap<TabId, Peer>, cursor: Option<TabId>) -> Option<TabId> {
    let after = cursor.map_or(0, |c| c.wrapping_add(1));
    let wants = |(_, p): &(&TabId, &Peer)| p.outstanding() > 0;
    let later = if cursor.is_some_and(|c| c == TabId::MAX) {
        None
    } else {
        peers.range(after..).find(wants)
    };
    later.or_else(|| peers.iter().find(wants)).map(|(&t, _)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Regression: a new leader adopted the old one's 1 ms margin as its
    /// floor; the budget's rate then went to 50/s (cap 0.8 ms) and the
    /// margin's clamp panicked (floor over cap).
    #[test]
    fn a_rate_change_after_adopting_a_wider_margin_does_not_panic() {
        let mut b = Tab::new(2, 50.0, ms(0));
        b.follow(ms(0));
        b.on_message(
            Msg::Want {
                tab: 1,
                asked: 0,
                got: 0,
                ok: 0,
                rate: 4.0,
            },
            ms(1),
        );
        b.on_message(
            Msg::Lead {
                leader: 1,
                rate: 4.0,
                margin: ms(1),
                last: None,
            },
            ms(2),
        );
        b.lead(ms(10)); // the lock arrives before the goodbye
        b.on_message(
            Msg::Bye {
                tab: 1,
                gone: true,
                last: None,
                margin: Some(ms(1)),
            },
            ms(11),
        );
        b.poll(ms(12));
        let leader = b.leader().expect("b leads");
        assert_eq!(leader.rate(), 50.0);
        assert!(leader.margin() <= Duration::from_micros(800));
    }
}
