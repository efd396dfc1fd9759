//! The team budget against a real Redis on loopback: the Lua GCRA's
//! spacing across proxies, its refusals, its key layout, heartbeats, and
//! what each proxy does when Redis goes away and comes back.

mod common;

use common::*;
use pacer_proxy::budget::{Budget, Decision, Mode};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MS: fn(u64) -> Duration = Duration::from_millis;

/// When a request decided at `decided` with `d` would be forwarded.
fn send_at(decided: Instant, d: Decision) -> Instant {
    match d {
        Decision::Hold(wait, _) => decided + wait,
        Decision::Refuse(..) => panic!("refused: {d:?}"),
    }
}

#[tokio::test]
async fn proxies_sharing_a_budget_send_one_interval_apart() {
    let redis = redis();
    let name = fresh_name("spacing");
    // Two proxies (two budgets, two connections) on one team budget of 20/s.
    let a = Budget::new(budget(&redis, &name, 20.0, 0, 10_000), "http://api").unwrap();
    let b = Budget::new(budget(&redis, &name, 20.0, 0, 10_000), "http://api").unwrap();
    let mut asks = Vec::new();
    for i in 0..40 {
        let who: Arc<Budget> = if i % 2 == 0 { a.clone() } else { b.clone() };
        asks.push(tokio::spawn(async move {
            let d = who.take("any-key").await;
            (send_at(Instant::now(), d), d)
        }));
    }
    let mut sends = Vec::new();
    for ask in asks {
        let (at, d) = ask.await.unwrap();
        assert!(matches!(d, Decision::Hold(_, Mode::Shared { .. })), "{d:?}");
        sends.push(at);
    }
    sends.sort();
    // One Redis clock: slots are 50 ms apart, give or take the loopback
    // round trip that turns a wait into an instant here.
    let gaps: Vec<u128> = sends
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis())
        .collect();
    assert!(gaps.iter().all(|&g| g >= 45), "gaps {gaps:?}");
    let span = sends[39] - sends[0];
    assert!(
        span >= MS(1_900) && span <= MS(2_050),
        "40 slots took {span:?}"
    );
}

#[tokio::test]
async fn a_slot_beyond_the_longest_hold_is_refused_and_takes_nothing() {
    let redis = redis();
    let name = fresh_name("refuse");
    let team = Budget::new(budget(&redis, &name, 10.0, 0, 650), "http://api").unwrap();
    let mut waits = Vec::new();
    for _ in 0..3 {
        match team.take("k").await {
            Decision::Hold(wait, Mode::Shared { .. }) => waits.push(wait),
            other => panic!("{other:?}"),
        }
    }
    // A budget Redis does not know starts as though a request had just
    // gone, and a settling time later (300 ms, for proxies still pacing
    // alone after a restart): the first slot is 400 ms away.
    // Redis's clock is mapped to the proxy's with an error of up to 5 ms
    // (the proxy's CLOCK_ERROR): a busy machine may add a millisecond or so.
    let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
    assert!(ms[0] > 380 && ms[0] <= 405, "{ms:?}");
    assert!(ms[1] > 480 && ms[1] <= 505, "{ms:?}");
    assert!(ms[2] > 580 && ms[2] <= 605, "{ms:?}");
    // The fourth would wait 700 ms > 650: refused, with when to retry.
    let Decision::Refuse(retry, Mode::Shared { .. }) = team.take("k").await else {
        panic!("not refused")
    };
    assert!(retry <= MS(60), "{retry:?}");
    // The refusal took no slot: 100 ms later the next wait is about 600 ms.
    tokio::time::sleep(MS(100)).await;
    match team.take("k").await {
        Decision::Hold(wait, _) => assert!(wait > MS(550) && wait <= MS(605), "{wait:?}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_quiet_budget_allows_its_burst_then_paces() {
    let redis = redis();
    let name = fresh_name("burst");
    let team = Budget::new(budget(&redis, &name, 10.0, 2, 5_000), "http://api").unwrap();
    let _ = team.take("k").await;
    // Quiet for longer than the first slot and the burst take to come back.
    tokio::time::sleep(MS(1_000)).await;
    let mut ms = Vec::new();
    for _ in 0..4 {
        if let Decision::Hold(wait, _) = team.take("k").await {
            ms.push(wait.as_millis());
        }
    }
    assert!(
        ms[0] <= 5 && ms[1] <= 5 && ms[2] <= 5,
        "burst of 2 early: {ms:?}"
    );
    assert!(ms[3] > 80 && ms[3] <= 100, "then one per 100 ms: {ms:?}");
}

#[tokio::test]
async fn one_hash_tagged_key_per_budget_that_expires() {
    let redis = redis();
    let name = fresh_name("layout");
    let team = Budget::new(budget(&redis, &name, 5.0, 0, 5_000), "http://api").unwrap();
    let _ = team.take("k").await;
    tokio::time::sleep(MS(300)).await; // the first heartbeat
    let key = format!("pacer:budget:{{{name}}}");
    let fields = redis.command(&format!("HKEYS {key}"));
    assert!(fields.contains("tat"), "{fields}");
    assert!(fields.contains("alive:"), "{fields}");
    let ttl = redis.command(&format!("PTTL {key}"));
    let ttl: i64 = ttl.trim().trim_start_matches(':').parse().unwrap();
    assert!(ttl > 60_000 && ttl <= 125_000, "PTTL {ttl}");
    // Nothing else of this budget in Redis: one key (cluster-safe).
    let keys = redis.command(&format!("KEYS *{name}*"));
    assert!(keys.starts_with("*1\r\n"), "{keys}");

    // Without a name, each key gets its own budget, named by a hash.
    let mut per_key = budget(&redis, "unused", 5.0, 0, 5_000);
    per_key.name = None;
    let per_key = Budget::new(per_key, "http://api").unwrap();
    let secret = "do-not-store-this-key";
    let hashed = per_key.name_for(secret);
    assert_eq!(hashed.len(), 24);
    assert!(!hashed.contains(secret));
    assert_ne!(hashed, per_key.name_for("another-key"));
    let _ = per_key.take(secret).await;
    let stored = redis.command(&format!("KEYS pacer:budget:{{{hashed}}}"));
    assert!(stored.starts_with("*1\r\n"), "{stored}");
}

#[tokio::test]
async fn heartbeats_count_the_proxies_alive() {
    let redis = redis();
    let name = fresh_name("alive");
    let proxies: Vec<Arc<Budget>> = (0..3)
        .map(|_| Budget::new(budget(&redis, &name, 10.0, 0, 30_000), "http://api").unwrap())
        .collect();
    for p in &proxies {
        let _ = p.take("k").await;
    }
    // Each beats at its first request, then every 2 s.
    tokio::time::sleep(MS(2_300)).await;
    for p in &proxies {
        assert_eq!(p.proxies_seen("k"), Some(3));
    }
}

#[tokio::test]
async fn without_redis_each_proxy_paces_at_its_share_and_the_return_makes_no_burst() {
    let mut redis = own_redis();
    let name = fresh_name("fallback");
    let rate = 10.0;
    let a = Budget::new(budget(&redis, &name, rate, 0, 30_000), "http://api").unwrap();
    let b = Budget::new(budget(&redis, &name, rate, 0, 30_000), "http://api").unwrap();
    let _ = a.take("k").await;
    let _ = b.take("k").await;
    tokio::time::sleep(MS(2_300)).await;
    assert_eq!(a.proxies_seen("k"), Some(2));

    redis.stop();
    let started = Instant::now();
    let mut local = Vec::new();
    for _ in 0..5 {
        let d = a.take("k").await;
        match d {
            Decision::Hold(_, Mode::Local { share, proxies }) => {
                assert_eq!(proxies, 2);
                assert!((share - 5.0).abs() < 1e-9);
            }
            other => panic!("{other:?}"),
        }
        local.push(send_at(Instant::now(), d));
    }
    assert!(
        started.elapsed() < MS(1_000),
        "deciding without Redis must not hang"
    );
    // Half the rate: 200 ms apart.
    for w in local.windows(2) {
        let gap = (w[1] - w[0]).as_millis();
        assert!((195..=205).contains(&gap), "{gap}");
    }

    // Redis comes back empty (a restart loses the budget).
    redis.start();
    tokio::time::sleep(MS(300)).await;
    let mut back = None;
    for _ in 0..20 {
        let d = a.take("k").await;
        if matches!(d, Decision::Hold(_, Mode::Shared { .. })) {
            back = Some(send_at(Instant::now(), d));
            break;
        }
        tokio::time::sleep(MS(100)).await;
    }
    let back = back.expect("back on Redis within 2 s");
    // The first shared slot comes no earlier than this proxy's local
    // schedule allowed: no burst on return.
    let last_local = *local.iter().max().unwrap();
    assert!(
        back >= last_local + MS(95),
        "{:?} after the last local send",
        back - last_local
    );
}
