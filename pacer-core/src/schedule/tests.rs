//! Table tests of the scheduler's state machine, on hand-moved time.

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn exact(items: usize, rate: f64) -> Scheduler {
    let margin = MarginPolicy {
        start: Duration::ZERO,
        initial: Duration::ZERO,
        ..MarginPolicy::default()
    };
    Scheduler::new(
        items,
        Quota::per_second(rate).unwrap(),
        RetryPolicy::default(),
        margin,
    )
}

fn send(s: &mut Scheduler, now: Duration) -> ItemId {
    match s.poll(now) {
        Decision::Send { item, .. } => item,
        other => panic!("expected a send at {now:?}, got {other:?}"),
    }
}

#[test]
fn sends_in_order_at_the_rate() {
    let mut s = exact(3, 10.0);
    assert_eq!(send(&mut s, ms(0)), 0);
    assert_eq!(s.poll(ms(0)), Decision::WaitUntil(ms(100)));
    assert_eq!(send(&mut s, ms(100)), 1);
    assert_eq!(send(&mut s, ms(200)), 2);
    assert_eq!(s.poll(ms(300)), Decision::Idle, "all in flight");
    for i in 0..3 {
        s.complete(i, AttemptResult::Success, ms(400));
    }
    assert_eq!(s.poll(ms(400)), Decision::Finished);
    assert_eq!(s.counts().done, 3);
}

#[test]
fn a_429_requeues_the_item_first_and_pauses_the_pool() {
    let mut s = exact(3, 10.0);
    send(&mut s, ms(0));
    send(&mut s, ms(100));
    s.complete(
        0,
        AttemptResult::RateLimited {
            retry_after: Some(ms(1000)),
        },
        ms(150),
    );
    assert!(matches!(s.status(0), ItemStatus::Retrying { .. }));
    assert_eq!(s.poll(ms(200)), Decision::WaitUntil(ms(1150)));
    // Item 1 was sent before the pause began: its 429 does not pause again.
    s.complete(
        1,
        AttemptResult::RateLimited {
            retry_after: Some(ms(1000)),
        },
        ms(300),
    );
    assert_eq!(s.pacing().pauses(), 1);
    assert_eq!(s.poll(ms(400)), Decision::WaitUntil(ms(1150)));
    // The re-queued items go before the never-sent one.
    assert_eq!(send(&mut s, ms(1150)), 1);
    assert_eq!(s.counts().rate_limited, 2);
}

#[test]
fn a_success_is_never_sent_again_and_late_answers_do_not_count_twice() {
    let mut s = exact(1, 10.0);
    send(&mut s, ms(0));
    s.complete(0, AttemptResult::Success, ms(10));
    s.complete(0, AttemptResult::Success, ms(20));
    assert_eq!(s.counts().done, 1);
    assert_eq!(s.poll(ms(500)), Decision::Finished);
}

/// One item with 5 attempts, each sent when due and answered with
/// `result()`; the scheduler and the time of the last answer.
fn fail_every_attempt(result: impl Fn() -> AttemptResult) -> (Scheduler, Duration) {
    let mut s = exact(1, 1000.0);
    let mut now = ms(0);
    for attempt in 1..=5 {
        let item = loop {
            match s.poll(now) {
                Decision::Send { item, attempt: a } => {
                    assert_eq!(a, attempt);
                    break item;
                }
                Decision::WaitUntil(t) => now = t,
                other => panic!("{other:?}"),
            }
        };
        s.complete(item, result(), now);
    }
    (s, now)
}

#[test]
fn retryable_failures_back_off_then_fail_with_the_reason() {
    let (mut s, now) = fail_every_attempt(|| AttemptResult::Retryable {
        reason: "HTTP 503".into(),
    });
    match s.status(0) {
        ItemStatus::Failed { reason } => assert_eq!(reason, "HTTP 503 (after 5 attempts)"),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.poll(now), Decision::Finished);
}

#[test]
fn fatal_fails_at_once() {
    let mut s = exact(1, 10.0);
    send(&mut s, ms(0));
    s.complete(
        0,
        AttemptResult::Fatal {
            reason: "HTTP 400: bad model".into(),
        },
        ms(5),
    );
    assert_eq!(s.counts().failed, 1);
    assert_eq!(s.poll(ms(5)), Decision::Finished);
}

#[test]
fn hold_sends_nothing_until_resume() {
    let mut s = exact(2, 10.0);
    send(&mut s, ms(0));
    s.hold();
    assert_eq!(s.poll(ms(500)), Decision::Idle);
    s.resume();
    assert_eq!(send(&mut s, ms(500)), 1);
}

#[test]
fn cancel_marks_the_rest_cancelled_and_ignores_late_answers() {
    let mut s = exact(3, 10.0);
    send(&mut s, ms(0));
    s.cancel();
    assert_eq!(s.poll(ms(100)), Decision::Finished);
    s.complete(0, AttemptResult::Success, ms(200));
    let c = s.counts();
    assert_eq!((c.done, c.cancelled, c.queued, c.in_flight), (0, 3, 0, 0));
}

#[test]
fn retry_failed_requeues_only_failed_items_with_a_fresh_budget() {
    let mut s = exact(3, 1000.0);
    for (i, t) in [(0, 0), (1, 1), (2, 2)] {
        assert_eq!(send(&mut s, ms(t)), i);
    }
    s.complete(0, AttemptResult::Success, ms(5));
    s.complete(
        1,
        AttemptResult::Fatal {
            reason: "HTTP 400".into(),
        },
        ms(5),
    );
    s.complete(
        2,
        AttemptResult::Fatal {
            reason: "HTTP 400".into(),
        },
        ms(5),
    );
    assert_eq!(s.poll(ms(6)), Decision::Finished);
    assert_eq!(s.retry_failed(), 2);
    let c = s.counts();
    assert_eq!((c.done, c.failed, c.queued), (1, 0, 2));
    assert_eq!(
        s.poll(ms(10)),
        Decision::Send {
            item: 1,
            attempt: 1
        }
    );
    assert_eq!(
        s.poll(ms(11)),
        Decision::Send {
            item: 2,
            attempt: 1
        }
    );
}

#[test]
fn restore_sends_only_what_had_not_ended() {
    let mut s = exact(5, 1000.0);
    s.restore([
        (0, ItemStatus::Done, 1),
        (
            2,
            ItemStatus::Failed {
                reason: "HTTP 400".into(),
            },
            1,
        ),
        // Not ended: sent again.
        (3, ItemStatus::InFlight { sent_at: ms(0) }, 2),
        // Out of range: ignored.
        (9, ItemStatus::Done, 1),
    ]);
    let c = s.counts();
    assert_eq!((c.done, c.failed, c.queued, c.sent), (1, 1, 3, 0));
    assert_eq!(s.attempts(0), 1);
    let sent: Vec<ItemId> = (0..3).map(|i| send(&mut s, ms(i))).collect();
    assert_eq!(sent, vec![1, 3, 4]);
    for item in sent {
        s.complete(item, AttemptResult::Success, ms(5));
    }
    assert!(s.is_finished());
    assert_eq!(s.counts().done, 4);
}

#[test]
fn maybe_rate_limited_spends_attempts_and_fails_with_the_reason() {
    let (mut s, now) = fail_every_attempt(|| AttemptResult::MaybeRateLimited {
        reason: "network error".into(),
    });
    match s.status(0) {
        ItemStatus::Failed { reason } => assert_eq!(reason, "network error (after 5 attempts)"),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.counts().rate_limited, 0);
    assert_eq!(s.poll(now), Decision::Finished);
}

#[test]
fn frequent_maybe_rate_limited_pause_the_pool_once_rare_ones_not_at_all() {
    let maybe = || AttemptResult::MaybeRateLimited {
        reason: "network error".into(),
    };
    let mut s = exact(40, 10.0);
    // 20 sends 100 ms apart; the answers: successes of 100 ms, errors at once.
    for i in 0..20u64 {
        assert_eq!(send(&mut s, ms(i * 100)), i as usize);
    }
    for i in 0..20 {
        s.complete(i, AttemptResult::Success, ms(i as u64 * 100 + 100));
    }
    let mut now = ms(2100);
    // Three errors among 16 sends: rare, nothing paused.
    let mut failed = Vec::new();
    for _ in 0..3 {
        let item = send(&mut s, now);
        s.complete(item, maybe(), now + ms(2));
        failed.push(item);
        now += ms(100);
    }
    assert_eq!(s.pacing().pauses(), 0);
    assert_eq!(s.counts().maybe_rate_limited, 0);
    // A fourth: all four are taken for 429s, and the pool pauses once.
    let item = send(&mut s, now);
    s.complete(item, maybe(), now + ms(2));
    assert_eq!(s.pacing().pauses(), 1);
    assert_eq!(s.counts().maybe_rate_limited, 4);
    assert_eq!(s.counts().rate_limited, 0);
    // An error as slow as a success is not a refusal.
    now += ms(300);
    let item = send(&mut s, now);
    s.complete(item, maybe(), now + ms(100));
    assert_eq!(s.counts().maybe_rate_limited, 4);
    assert_eq!(s.pacing().pauses(), 1);
    // Each item is retried like a retryable failure, after a backoff.
    assert!(matches!(s.status(failed[0]), ItemStatus::Retrying { .. }));
}
