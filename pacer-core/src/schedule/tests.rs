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

fn quota_hint(wait_s: u64) -> ServerHint {
    ServerHint {
        quota_wait: Some(Duration::from_secs(wait_s)),
        quota_window: Some(WindowName {
            limit: Some(6),
            length: None,
        }),
        ..ServerHint::default()
    }
}

#[test]
fn a_quota_run_out_parks_the_run_spends_no_attempt_and_resumes_at_the_reset() {
    let mut s = exact(4, 10.0);
    for t in [0, 100, 200] {
        send(&mut s, ms(t));
    }
    // The first answer used up the quota: back in 30 s.
    s.observe(0, quota_hint(30), ms(300));
    s.complete(0, AttemptResult::Success, ms(300));
    let park = s.quota_park(ms(300)).unwrap();
    assert_eq!(park.until, ms(30_300));
    assert_eq!(park.window.unwrap().limit, Some(6));
    assert_eq!(s.poll(ms(300)), Decision::WaitUntil(ms(30_300)));
    // The two on the wire come back refused: back to the queue.
    for item in [1, 2] {
        s.complete(
            item,
            AttemptResult::RateLimited { retry_after: None },
            ms(400),
        );
        assert!(matches!(s.status(item), ItemStatus::Retrying { .. }));
    }
    assert_eq!(s.poll(ms(20_000)), Decision::WaitUntil(ms(30_300)));
    // The quota is late to return, again and again: the item is never failed.
    let mut now = ms(30_300);
    for _ in 0..3 * RetryPolicy::default().max_rate_limited {
        assert_eq!(s.quota_park(now), None);
        let item = send(&mut s, now);
        now += ms(50);
        s.observe(item, quota_hint(10), now);
        s.complete(item, AttemptResult::RateLimited { retry_after: None }, now);
        assert!(matches!(s.status(item), ItemStatus::Retrying { .. }));
        now += Duration::from_secs(10);
    }
    assert_eq!(s.counts().failed, 0);
    assert_eq!(
        s.counts().quota_refused,
        2 + 3 * RetryPolicy::default().max_rate_limited as usize
    );
    assert_eq!(s.pacing().pauses(), 0, "no rate pause for a quota");
    // Once it returns, the run goes on by itself, at the rate.
    let first = send(&mut s, now);
    s.complete(first, AttemptResult::Success, now + ms(10));
    assert!(matches!(s.poll(now + ms(10)), Decision::WaitUntil(_)));
}

#[test]
fn quota_refusals_leave_an_items_attempts_for_errors() {
    let mut s = exact(1, 10.0);
    send(&mut s, ms(0));
    s.observe(0, quota_hint(20), ms(50));
    s.complete(0, AttemptResult::RateLimited { retry_after: None }, ms(50));
    for i in 0..RetryPolicy::default().max_attempts - 1 {
        let at = ms(20_100 + u64::from(i) * 60_000);
        send(&mut s, at);
        s.complete(
            0,
            AttemptResult::Retryable {
                reason: "HTTP 500".into(),
            },
            at + ms(10),
        );
        assert!(
            matches!(s.status(0), ItemStatus::Retrying { .. }),
            "error {i} after a quota refusal"
        );
    }
}

#[test]
fn a_saved_park_is_taken_up() {
    let mut s = exact(2, 10.0);
    s.park_until(ms(5_000), None);
    s.park_until(ms(1_000), None);
    assert_eq!(
        s.poll(ms(0)),
        Decision::WaitUntil(ms(5_000)),
        "a later park wins"
    );
    assert_eq!(send(&mut s, ms(5_000)), 0);
}

#[test]
fn a_concurrency_cap_is_learnt_and_its_refusals_are_no_rate() {
    let mut s = exact(40, 1000.0);
    let t = std::cell::Cell::new(0);
    let tick = || {
        t.set(t.get() + 2);
        ms(t.get())
    };
    // Two in flight hold: answered before the next pair goes.
    for _ in 0..3 {
        let (a, b) = (send(&mut s, tick()), send(&mut s, tick()));
        for i in [a, b] {
            s.complete(i, AttemptResult::Success, tick());
        }
    }
    // Three or four in flight: the third and fourth are refused (a 429,
    // then a 503), till the cap is learnt.
    for round in 0..2 {
        let sent: Vec<_> = (0..4).map(|_| send(&mut s, tick())).collect();
        let refusal = if round % 2 == 0 {
            AttemptResult::RateLimited { retry_after: None }
        } else {
            AttemptResult::Busy {
                reason: "HTTP 503".into(),
            }
        };
        s.complete(sent[2], refusal.clone(), tick());
        s.complete(sent[3], refusal, tick());
        let now = tick();
        s.complete(sent[0], AttemptResult::Success, now);
        s.complete(sent[1], AttemptResult::Success, now);
        // Past pauses end before the next round.
        t.set(t.get() + 2_000);
    }
    assert_eq!(s.concurrency_cap(), Some(2));
    assert_eq!(
        s.pacing().backoff().rate(),
        None,
        "the refusals read as a rate's before the cap was known no longer slow it"
    );
    assert_eq!(s.pacing().quota().rate(), 1000.0);
    let now = ms(t.get() + 10);
    let (a, b) = (send(&mut s, now), send(&mut s, now + ms(100)));
    assert_eq!(s.poll(now + ms(200)), Decision::Idle, "at the cap");
    s.complete(a, AttemptResult::Success, now + ms(300));
    assert!(matches!(s.poll(now + ms(300)), Decision::Send { .. }));
    let _ = b;
    assert_eq!(s.counts().failed, 0);
    assert!(s.counts().cap_refused >= 1);
}

#[test]
fn a_send_taken_back_before_it_went_spends_no_attempt_and_goes_first_again() {
    let mut s = exact(2, 10.0);
    assert_eq!(send(&mut s, ms(0)), 0);
    s.hold();
    s.complete(0, AttemptResult::Withdrawn, ms(50));
    assert_eq!(s.status(0), &ItemStatus::Queued);
    assert_eq!(s.attempts(0), 0);
    let counts = s.counts();
    assert_eq!((counts.sent, counts.queued, counts.in_flight), (0, 2, 0));
    assert_eq!(s.poll(ms(500)), Decision::Idle, "held: nothing goes");
    s.resume();
    assert_eq!(
        s.poll(ms(500)),
        Decision::Send {
            item: 0,
            attempt: 1
        }
    );
}

#[test]
fn sends_taken_back_at_a_pause_give_their_slots_back_and_keep_their_order() {
    let mut s = exact(5, 4.0);
    assert_eq!(send(&mut s, ms(0)), 0);
    // Taken for their instants and handed over ahead (a timer worker).
    assert_eq!(send(&mut s, ms(250)), 1);
    assert_eq!(send(&mut s, ms(500)), 2);
    // Item 0 is refused (no Retry-After) at 10 ms; the sends for 250 and
    // 500 ms are taken back before they go, the later one first.
    s.complete(0, AttemptResult::RateLimited { retry_after: None }, ms(10));
    s.complete(2, AttemptResult::Withdrawn, ms(11));
    s.complete(1, AttemptResult::Withdrawn, ms(11));
    let spacing = s.pacing().interval();
    let until = s.pacing().pause().expect("paused").until;
    assert_eq!(until, ms(10) + spacing, "one spacing from the 429");
    // The sends go from the pause's end, not after the slots of the sends
    // that never went; the refused item first, then the others in order.
    assert_eq!(s.poll(ms(100)), Decision::WaitUntil(until));
    assert_eq!(send(&mut s, until), 0);
    assert_eq!(s.poll(until), Decision::WaitUntil(until + spacing));
    assert_eq!(send(&mut s, until + spacing), 1);
    assert_eq!(send(&mut s, until + spacing * 2), 2);
    assert_eq!(send(&mut s, until + spacing * 3), 3);
}

#[test]
fn a_send_taken_back_never_moves_a_hold() {
    // A window with nothing left holds every send until it ends, and the
    // sends handed over meanwhile are taken back: their slots come back
    // no earlier than the hold.
    let mut s = exact(3, 4.0);
    send(&mut s, ms(0));
    send(&mut s, ms(250));
    s.complete(
        0,
        AttemptResult::RateLimited {
            retry_after: Some(ms(2000)),
        },
        ms(10),
    );
    s.complete(1, AttemptResult::Withdrawn, ms(11));
    assert_eq!(s.poll(ms(100)), Decision::WaitUntil(ms(2010)));
}
