// The bench's figures for one cell, from the emulator's access log (ground
// truth) and the page's JSON export. Pure functions: no I/O.

/**
 * A good success in the access log: a 200 whose body was the contract's
 * JSON. A `bad-json` fault is a 200 with a broken body (a failure for the
 * page), a dropped or abandoned answer is logged with status 0.
 */
export const isGood = (l) => l.status === 200 && l.fault !== 'bad-json';

/** A good success in the page's export: an attempt answered 200 that the page did not reject. */
const isGoodAttempt = (a) => a.status === 200 && !a.error;

/** The fault kinds the emulator injects, as its access log's `fault` field names them. */
export const FAULT_KINDS = ['5xx', 'drop', 'slow', 'bad-json'];

/** Linear-interpolation quantile (q in 0..1) of unsorted numbers; NaN when empty. */
export function quantile(values, q) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

const mean = (v) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);
const min = (v) => v.reduce((a, b) => Math.min(a, b), Infinity);
const max = (v) => v.reduce((a, b) => Math.max(a, b), -Infinity);

/** Most timestamps (ms) in any half-open window [t, t + widthMs). */
export function maxInWindow(timesMs, widthMs = 1000) {
  const t = [...timesMs].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (j < t.length && t[j] < t[i] + widthMs) j++;
    best = Math.max(best, j - i);
  }
  return best;
}

/** Successful arrivals per second in [fromMs, toMs), ÷ `rate`. */
export function spanRatio(okArrivals, fromMs, toMs, rate) {
  const n = okArrivals.filter((t) => t >= fromMs && t < toMs).length;
  return toMs > fromMs ? n / ((toMs - fromMs) / 1000) / rate : NaN;
}

/**
 * AIMD convergence: the first successful arrival t (at least `windowMs`
 * after `firstSendMs`) such that the successes in (t − windowMs, t] come to
 * within `tol` of `rate`; null when never. Windows end on arrivals.
 */
export function convergence(okArrivals, firstSendMs, rate, windowMs = 3000, tol = 0.1) {
  const t = [...okArrivals].sort((a, b) => a - b);
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[j] <= t[i] - windowMs) j++;
    if (t[i] - windowMs < firstSendMs) continue;
    const perSecond = (i - j + 1) / (windowMs / 1000);
    if (Math.abs(perSecond - rate) <= tol * rate) return { atMs: t[i], perSecond };
  }
  return null;
}

/** The AIMD cell's own figures (convergence, the share held after it, 429s), from the sorted successful arrivals. */
function aimdFigures(f, okArrivals, firstSendMs, rate) {
  const c = convergence(okArrivals, firstSendMs, rate);
  f.convergeS = c ? (c.atMs - firstSendMs) / 1000 : NaN;
  f.convergeWindowRate = c?.perSecond ?? NaN;
  if (c) {
    const after = okArrivals.filter((t) => t >= c.atMs);
    const last = after[after.length - 1];
    f.heldRatio = after.length > 1 ? (after.length - 1) / ((last - c.atMs) / 1000) / rate : NaN;
  } else f.heldRatio = NaN;
}

/** The hidden-tab cell's own figures: the send rate while hidden, and the proof it was hidden. */
function hiddenFigures(f, api, okArrivals, rate, h) {
  if (!h?.hiddenAt || !h?.shownAt) return;
  // A page done before it is shown again is measured up to its last send.
  const lastOk = okArrivals[okArrivals.length - 1];
  const to = f.doneImages === f.total && lastOk < h.shownAt ? Math.min(h.shownAt, lastOk + 1000 / rate) : h.shownAt;
  const inSpan = api.filter((l) => l.arrival_ms >= h.hiddenAt && l.arrival_ms < to);
  f.hiddenS = (to - h.hiddenAt) / 1000;
  f.hiddenOk = inSpan.filter(isGood).length;
  f.hidden429 = inSpan.filter((l) => l.status === 429).length;
  f.hiddenRatio = spanRatio(okArrivals, h.hiddenAt, to, rate);
  f.hiddenMaxPerSecond = maxInWindow(inSpan.map((l) => l.arrival_ms));
  const late = h.hiddenAt + 300_000;
  f.lateHiddenRatio = to > late + 10_000 ? spanRatio(okArrivals, late, to, rate) : NaN;
  f.plainVisible = h.plainVisible?.perSecond ?? NaN;
  f.plainHidden = h.plainHidden?.perSecond ?? NaN;
  f.plainLate = h.plainLate?.perSecond ?? NaN;
  f.plainLateFromS = h.plainLate?.fromHiddenS ?? NaN;
  f.stateBeforeShow = h.stateBeforeShow;
  // Any `visible` between hiding and showing would void the proof.
  f.unhiddenWhileHidden = (h.visibilityChanges ?? []).filter(([t, v]) => v === 'visible' && t > h.hiddenAt && t < h.shownAt).length;
  f.stayedHidden = h.visibilityBeforeShow === 'hidden' && f.unhiddenWhileHidden === 0;
}

/**
 * The fault cell's own figures: is every item accounted
 * for, once? From the log (`good` = its good successes), the page's stats
 * and, per image, the export (`items`, or null without one).
 */
function faultFigures(f, api, good, arrivals, rate, page, items) {
  const stat = (id) => page?.stats?.[id] ?? NaN;
  f.faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0]));
  f.faults.none = 0;
  for (const l of api) { const k = l.fault ?? 'none'; f.faults[k] = (f.faults[k] ?? 0) + 1; }
  f.pageQueued = stat('stat-queued');
  f.pageSent = stat('stat-sent');
  f.pageRetries = stat('stat-retries');
  // Lost as the page shows it: neither done nor failed.
  f.lostByPage = f.total - f.pageDone - f.pageFailed;
  const goodPer = new Map();
  for (const l of good) goodPer.set(l.image, (goodPer.get(l.image) ?? 0) + 1);
  f.duplicateImages = [...goodPer.values()].filter((n) => n > 1).length;
  f.retriesPerItem = f.sends / f.total;
  // Good successes per second ÷ rate, over the whole run (first request in → last good success in).
  f.goodTputRatio = good.length > 0 ? good.length / ((max(good.map((l) => l.arrival_ms)) - arrivals[0]) / 1000) / rate : NaN;
  // Every request, good or not, per second ÷ rate: did retries keep the page at its rate?
  f.sendRateRatio = arrivals.length > 1 ? (arrivals.length - 1) / ((arrivals[arrivals.length - 1] - arrivals[0]) / 1000) / rate : NaN;
  if (!items) return;
  const state = (st) => items.filter((i) => i.state === st);
  const done = state('done');
  const failed = state('failed');
  f.exportDone = done.length;
  f.exportFailed = failed.length;
  f.exportUnsettled = items.length - done.length - failed.length;
  f.exportItems = items.length;
  // Lost behind the page's back: shown done without a good 200 in the log,
  // or answered good in the log but not shown done.
  f.doneWithoutGood = done.filter((i) => !goodPer.has(i.image)).map((i) => i.image);
  const doneSet = new Set(done.map((i) => i.image));
  f.goodNotDone = [...goodPer.keys()].filter((img) => !doneSet.has(img));
  const reason = (i) => (i.attempts ?? []).at(-1)?.error ?? '';
  f.failedWithoutReason = failed.filter((i) => !reason(i)).map((i) => i.image);
  f.failedReasons = {};
  for (const i of failed) { const r = reason(i) || '(none)'; f.failedReasons[r] = (f.failedReasons[r] ?? 0) + 1; }
  // Per image: the export's attempts vs the log's requests for it.
  const linesPer = new Map();
  for (const l of api) linesPer.set(l.image, (linesPer.get(l.image) ?? 0) + 1);
  f.attemptsMismatch = items.filter((i) => (i.attempts?.length ?? 0) !== (linesPer.get(i.image) ?? 0)).length;
  f.retriedItems = items.filter((i) => (i.attempts?.length ?? 0) > 1).length;
  f.maxAttempts = items.reduce((m, i) => Math.max(m, i.attempts?.length ?? 0), 0);
}

/**
 * The fault cell's verdict: PASS when nothing is lost (the page's done +
 * failed = total, and no image shown done lacks a good 200 in the log),
 * nothing succeeded twice, the page's counts equal the log's (done = images
 * with a good 200, each of them shown done; sent = the log's requests) and
 * every failed item says why. n/a when the faults were not all injected.
 */
function faultVerdict(f) {
  const missing = FAULT_KINDS.filter((k) => !(f.faults?.[k] > 0));
  const why = [];
  if (f.lostByPage !== 0) why.push(`lost ${f.lostByPage} (total − done − failed on the page)`);
  if (f.pageQueued !== 0) why.push(`still queued ${f.pageQueued}`);
  if (f.doneWithoutGood === undefined) why.push('no export: done items and failure reasons unchecked');
  else {
    if (f.doneWithoutGood.length) why.push(`${f.doneWithoutGood.length} shown done without a good 200`);
    if (f.goodNotDone.length) why.push(`${f.goodNotDone.length} with a good 200 not shown done`);
    if (f.failedWithoutReason.length) why.push(`${f.failedWithoutReason.length} failed without a reason`);
    if (f.exportUnsettled) why.push(`${f.exportUnsettled} exported neither done nor failed`);
  }
  if (f.duplicateImages !== 0) why.push(`${f.duplicateImages} images with more than one good 200`);
  if (f.pageDone !== f.doneImages) why.push(`page done ${f.pageDone} ≠ ${f.doneImages} images with a good 200`);
  if (!Number.isFinite(f.pageSent)) why.push('no stat-sent');
  else if (f.pageSent !== f.sends) why.push(`page sent ${f.pageSent} ≠ ${f.sends} log requests`);
  if (missing.length) return { pass: false, label: 'n/a', why: [`no ${missing.join(', ')} fault injected`, ...why] };
  const unknown = why.length === 1 && why[0].startsWith('no export');
  return { pass: why.length === 0, label: why.length === 0 ? 'PASS' : unknown ? 'n/a' : 'FAIL', why };
}

/**
 * Pairs export attempts with log lines: per image, the k-th attempt (by
 * send time) with the k-th log line (by arrival). Offsets arrival − sent;
 * each pair keeps its log line.
 */
export function matchAttempts(items, log) {
  const byImage = new Map();
  for (const l of log) {
    if (!byImage.has(l.image)) byImage.set(l.image, []);
    byImage.get(l.image).push(l);
  }
  const offsets = [];
  const pairs = [];
  let unmatchedAttempts = 0;
  let unmatchedLines = 0;
  for (const item of items) {
    const attempts = [...(item.attempts ?? [])].sort((a, b) => a.sent_unix_ms - b.sent_unix_ms);
    const lines = [...(byImage.get(item.image) ?? [])].sort((a, b) => a.arrival_ms - b.arrival_ms);
    byImage.delete(item.image);
    const n = Math.min(attempts.length, lines.length);
    for (let k = 0; k < n; k++) {
      offsets.push(lines[k].arrival_ms - attempts[k].sent_unix_ms);
      pairs.push({ sent: attempts[k].sent_unix_ms, offset: lines[k].arrival_ms - attempts[k].sent_unix_ms, line: lines[k] });
    }
    unmatchedAttempts += attempts.length - n;
    unmatchedLines += lines.length - n;
  }
  for (const rest of byImage.values()) unmatchedLines += rest.length;
  return { offsets, pairs, unmatchedAttempts, unmatchedLines };
}

/** The match results of several exports (tabs) as one. */
function mergeMatches(ms) {
  return {
    offsets: ms.flatMap((m) => m.offsets),
    pairs: ms.flatMap((m) => m.pairs),
    unmatchedAttempts: ms.reduce((n, m) => n + m.unmatchedAttempts, 0),
    unmatchedLines: ms.reduce((n, m) => n + m.unmatchedLines, 0),
  };
}

/** Client latency from the export's items (every tab's, for multi-tab cells). */
function clientFigures(f, items) {
  const okAttempts = items.flatMap((i) => i.attempts ?? []).filter(isGoodAttempt);
  f.clientLatencyAvg = mean(okAttempts.map((a) => a.latency_ms));
  f.clientLatencyP95 = quantile(okAttempts.map((a) => a.latency_ms), 0.95);
  f.exportAttempts = items.reduce((n, i) => n + (i.attempts?.length ?? 0), 0);
}

/** J and its diagnostics from matched attempts (`matchAttempts`). */
function jitterFigures(f, m) {
  f.matched = m.offsets.length;
  f.unmatchedAttempts = m.unmatchedAttempts;
  f.unmatchedLines = m.unmatchedLines;
  f.offsetMedianMs = quantile(m.offsets, 0.5);
  f.jMs = m.offsets.length ? max(m.offsets) - min(m.offsets) : NaN;
  f.jSpreadMs = quantile(m.offsets, 0.99) - quantile(m.offsets, 0.01);
  // Diagnostics: J without the first second of sends (connection warm-up),
  // and whether the page's send stamps are whole milliseconds (Date.now()).
  const firstSent = min(m.pairs.map((p) => p.sent));
  const steady = m.pairs.filter((p) => p.sent >= firstSent + 1000).map((p) => p.offset);
  f.jSteadyMs = steady.length ? max(steady) - min(steady) : NaN;
  const worst = m.pairs.reduce((a, p) => (p.offset > a.offset ? p : a), { offset: -Infinity, sent: NaN });
  f.maxOffsetAtS = (worst.sent - firstSent) / 1000;
  f.sentWholeMs = m.pairs.every((p) => Number.isInteger(p.sent));
}

/** The jitter bound on a strict (gcra burst 0) limiter's ratio: 1 ÷ (1 + J × rate). */
const jitterBound = (jMs, rate) => 1 / (1 + (jMs / 1000) * rate);

/** Which tab sent a logged request (its image URL's `tab=`), or -1 (multi-tab cells). */
const tabOf = (l) => Number(/[?&]tab=(\d+)/.exec(l.image)?.[1] ?? -1);

/**
 * The multi-tab cells' targets: while all tabs run, their
 * combined successes ≥ 0.97 of the shared limit, never over it (at most
 * limit + 1 successes in any 1 s), 429s ≤ 1 % of sends, every tab finishes;
 * closing the leader leaves no gap between arrivals longer than the usual
 * interval plus one (a stall of at most one interval) and no burst.
 */
export const MULTITAB_TARGETS = { ratio: 0.97, pct429: 1, gapIntervals: 2 };

/**
 * The multi-tab cells' own figures, from the log and what the pages showed
 * (`page.tabs[t].export.data`: each open tab's JSON export).
 */
function multitabFigures(f, api, okArrivals, { rate, tabs, images, strict }, page) {
  const closed = page?.leader;
  const byTab = Array.from({ length: tabs }, (_, t) => api.filter((l) => tabOf(l) === t));
  multitabJitter(f, api, byTab, rate, strict, page);
  f.perTabOk = byTab.map((ls) => new Set(ls.filter(isGood).map((l) => l.image)).size);
  // Over the limit = more successes in a second than it admits (a 429's
  // arrival was refused, so it is no excess).
  f.maxOkPerSecond = maxInWindow(okArrivals);
  f.per429 = byTab.map((ls) => ls.filter((l) => l.status === 429).length);
  const running = byTab.filter((_, t) => t !== closed && byTab[t].length > 0);
  if (running.length === 0) return;
  const from = max(running.map((ls) => min(ls.map((l) => l.arrival_ms))));
  const to = min(running.map((ls) => max(ls.map((l) => l.arrival_ms))));
  const together = okArrivals.filter((t) => t >= from && t <= to);
  f.togetherS = (to - from) / 1000;
  f.togetherRatio = together.length > 1 ? (together.length - 1) / f.togetherS / rate : NaN;
  f.everyTabProgressed = f.perTabOk.every((n) => n > 0);
  f.unfinishedTabs = f.perTabOk.map((n, t) => (t !== closed && n < images ? t : -1)).filter((t) => t >= 0);
  if (page?.closedAt) {
    const c = page.closedAt;
    const around = api.map((l) => l.arrival_ms).filter((t) => t >= c - 2000 && t <= c + 3000).sort((a, b) => a - b);
    let gap = 0;
    let at = NaN;
    for (let i = 1; i < around.length; i++) if (around[i] - around[i - 1] > gap) { gap = around[i] - around[i - 1]; at = around[i - 1]; }
    f.handoverGapMs = gap;
    f.handoverGapIntervals = gap / (1000 / rate);
    f.handoverGapFromCloseMs = at - c;
    f.handoverMaxPerSecond = maxInWindow(around);
    f.handover429 = api.filter((l) => l.status === 429 && l.arrival_ms >= c - 1000 && l.arrival_ms <= c + 2000).length;
    f.okAfterClose = okArrivals.filter((t) => t > c).length;
    f.leader = closed;
  }
  if (Number.isFinite(f.jitterBound)) f.ratioOfBound = f.togetherRatio / f.jitterBound;
}

/**
 * J over every exporting tab: each tab's attempts matched to its own log
 * lines (a closed tab exports nothing, so its lines are left out rather
 * than counted unmatched); per tab too (`perTabJMs`). For a strict limiter
 * the jitter bound, which the verdict sets against the together ratio.
 * Per 429 (`pairs429`): its offset and that of the request logged just
 * before it, which it came too close after.
 */
function multitabJitter(f, api, byTab, rate, strict, page) {
  const exports = (page?.tabs ?? []).map((t) => t.export?.data?.items);
  const tabsWith = byTab.map((_, t) => t).filter((t) => Array.isArray(exports[t]));
  if (tabsWith.length === 0) return;
  clientFigures(f, tabsWith.flatMap((t) => exports[t]));
  const perTab = byTab.map((lines, t) => (Array.isArray(exports[t]) ? matchAttempts(exports[t], lines) : null));
  f.exportTabs = tabsWith;
  f.perTabJMs = perTab.map((m) => (m?.offsets.length ? max(m.offsets) - min(m.offsets) : NaN));
  const m = mergeMatches(perTab.filter(Boolean));
  jitterFigures(f, m);
  if (strict && Number.isFinite(f.jMs)) f.jitterBound = jitterBound(f.jMs, rate);
  const offsetOf = new Map(m.pairs.map((p) => [p.line, p.offset]));
  const sorted = [...api].sort((a, b) => a.arrival_ms - b.arrival_ms);
  const t0 = sorted[0]?.arrival_ms;
  f.pairs429 = [];
  for (let i = 0; i < sorted.length; i++) {
    const l = sorted[i];
    if (l.status !== 429) continue;
    const prev = sorted[i - 1];
    f.pairs429.push({
      atS: (l.arrival_ms - t0) / 1000,
      tab: tabOf(l),
      offsetMs: offsetOf.get(l) ?? NaN,
      prevTab: prev ? tabOf(prev) : -1,
      prevStatus: prev?.status,
      prevOffsetMs: (prev && offsetOf.get(prev)) ?? NaN,
      gapMs: prev ? l.arrival_ms - prev.arrival_ms : NaN,
    });
  }
}

/**
 * The multi-tab cells' verdict against MULTITAB_TARGETS. For a strict
 * limiter a note (not part of the verdict) says whether the together ratio
 * also reaches 0.98 × the jitter bound, the single-tab strict cells' target.
 */
function multitabVerdict(f, { rate, handover, strict }) {
  const why = [];
  if (f.unfinishedTabs?.length) why.push(`tab(s) ${f.unfinishedTabs.join(', ')} did not finish`);
  if (!f.everyTabProgressed) why.push('a tab made no progress');
  if (!(f.maxOkPerSecond <= rate + 1)) why.push(`${f.maxOkPerSecond} successes in 1 s`);
  if (handover) {
    if (!Number.isFinite(f.handoverGapMs)) why.push('the leader was not closed');
    else {
      if (!(f.handoverGapIntervals <= MULTITAB_TARGETS.gapIntervals)) why.push(`gap ${f.handoverGapMs.toFixed(0)} ms = ${f.handoverGapIntervals.toFixed(2)} intervals > ${MULTITAB_TARGETS.gapIntervals}`);
      if (!(f.handoverMaxPerSecond <= rate + 1)) why.push(`burst: ${f.handoverMaxPerSecond} arrivals in 1 s around the close`);
    }
  } else {
    if (!(f.togetherRatio >= MULTITAB_TARGETS.ratio)) why.push(`together ${fx3(f.togetherRatio)} < ${MULTITAB_TARGETS.ratio}`);
    if (!(f.pct429 <= MULTITAB_TARGETS.pct429)) why.push(`429s ${f.pct429.toFixed(1)}% > ${MULTITAB_TARGETS.pct429}%`);
  }
  const notes = [];
  if (strict) {
    if (!Number.isFinite(f.jitterBound)) notes.push('vs jitter bound: no J (no export)');
    else {
      const reaches = f.togetherRatio >= 0.98 * f.jitterBound;
      notes.push(`vs jitter bound: together ${fx3(f.togetherRatio)} ${reaches ? '≥' : '<'} 0.98 × ${fx3(f.jitterBound)} = ${fx3(0.98 * f.jitterBound)}`);
    }
  }
  return { pass: why.length === 0, label: why.length === 0 ? 'PASS' : 'FAIL', why, notes };
}

const fx3 = (v) => (Number.isFinite(v) ? v.toFixed(3) : '–');

/**
 * How late sends went, from consecutive times (ms, sorted): each gap over
 * the median of the gaps around it (two each side) is lateness; a paced
 * run's spacing changes slowly (its margin narrows), a late send stands
 * out. Gaps past 3 × that median are pauses (a 429's), not lateness.
 */
export function latenessMs(times) {
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  const late = [];
  for (let k = 0; k < gaps.length; k++) {
    const around = gaps.slice(Math.max(0, k - 2), k + 3);
    const med = quantile(around, 0.5);
    if (gaps[k] <= 3 * med) late.push(Math.max(0, gaps[k] - med));
  }
  return late;
}

/**
 * The on-time cells' targets: every send from the timer worker at its
 * instant (the 2nd send one spacing after the 1st, to within 3 ms; p99 of
 * the lateness over the first 5 s at most 3 ms, from the log's arrivals);
 * against a strict limiter answering 429s with `Retry-After: 1`, the
 * send-rate ratio per cell (`targets.ratio`) with at most one 429; on
 * tolerant servers the ratio the margin leaves them; at 200/s no 429.
 */
export const ONTIME_TARGETS = { secondExcessMs: 3, lateP99Ms: 3, firstS: 5 };

/** The on-time cells' own figures: the start of the run, from the log and the export's send stamps. */
function onTimeFigures(f, api, items, rate) {
  const arrivals = api.map((l) => l.arrival_ms).sort((a, b) => a - b);
  const t0 = arrivals[0];
  const first = arrivals.filter((t) => t < t0 + ONTIME_TARGETS.firstS * 1000);
  f.secondGapMs = arrivals[1] - arrivals[0];
  f.spacingMs = quantile(first.slice(1, 12).map((t, i) => t - first[i]), 0.5);
  f.secondExcessMs = f.secondGapMs - f.spacingMs;
  f.lateArrivalP99Ms = quantile(latenessMs(first), 0.99);
  f.lateArrivalMaxMs = max(latenessMs(first));
  const sent = (items ?? []).flatMap((i) => i.attempts ?? []).map((a) => a.sent_unix_ms).sort((a, b) => a - b);
  const sentFirst = sent.filter((t) => t < sent[0] + ONTIME_TARGETS.firstS * 1000);
  f.lateSendP99Ms = sentFirst.length > 2 ? quantile(latenessMs(sentFirst), 0.99) : NaN;
  f.oneOverRateMs = 1000 / rate;
}

function onTimeVerdict(f, targets) {
  const why = [];
  if (f.doneImages !== f.total) why.push(`done ${f.doneImages}/${f.total}`);
  if (!(f.n429 <= targets.max429)) why.push(`${f.n429} × 429 > ${targets.max429}`);
  if (!(f.ratio >= targets.ratio)) why.push(`ratio ${fx3(f.ratio)} < ${targets.ratio}`);
  if (!(f.secondExcessMs <= ONTIME_TARGETS.secondExcessMs)) why.push(`2nd send ${f.secondExcessMs.toFixed(1)} ms past the spacing`);
  if (!(f.lateArrivalP99Ms <= ONTIME_TARGETS.lateP99Ms)) why.push(`lateness p99 ${f.lateArrivalP99Ms.toFixed(1)} ms > ${ONTIME_TARGETS.lateP99Ms}`);
  return { pass: why.length === 0, label: why.length === 0 ? 'PASS' : 'FAIL', why };
}

/** Every figure of one cell. `exported` is the parsed pacer-results.json or null. */
export function cellFigures({ rate, latencyMs, images, strict, kind, tabs, handover, targets }, log, page, exported) {
  // `stat-sent` counts every request the page made, which the log has as
  // one line each (the page's own origin: no preflights to tell apart).
  const api = log.filter((l) => l.method === 'GET' || l.method === 'POST');
  const ok = api.filter(isGood);
  const s = ok.length;
  const arrivals = api.map((l) => l.arrival_ms).sort((a, b) => a - b);
  const firstOk = min(ok.map((l) => l.arrival_ms));
  const lastOk = max(ok.map((l) => l.arrival_ms));
  const lastOkEnd = max(ok.map((l) => l.end_ms));
  const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]);
  const okImages = new Set(ok.map((l) => l.image));
  const t429 = api.filter((l) => l.status === 429).map((l) => l.arrival_ms);
  const statuses = {};
  for (const l of api) statuses[l.status] = (statuses[l.status] ?? 0) + 1;

  const f = {
    total: images,
    doneImages: okImages.size,
    successes: s,
    duplicateSuccesses: s - okImages.size,
    sends: api.length,
    statuses,
    n429: t429.length,
    pct429: api.length ? (100 * t429.length) / api.length : NaN,
    t429RelS: t429.map((t) => (t - arrivals[0]) / 1000),
    ratio: s > 1 ? (s - 1) / ((lastOk - firstOk) / 1000) / rate : NaN,
    tutorialTput: s > 0 ? s / ((lastOkEnd - firstOk) / 1000) : NaN,
    idealTput: images / ((images - 1) / rate + latencyMs / 1000),
    maxPerSecond: maxInWindow(arrivals),
    minGapMs: gaps.length ? min(gaps) : NaN,
    p1GapMs: quantile(gaps, 0.01),
    serverLatencyAvg: mean(ok.map((l) => l.latency_ms)),
    pageLatencyAvg: page?.stats?.['stat-latency-avg'] ?? NaN,
    pageLatencyP95: page?.stats?.['stat-latency-p95'] ?? NaN,
    pageTput: page?.stats?.['stat-throughput'] ?? NaN,
    pageDone: page?.stats?.['stat-done'] ?? NaN,
    pageFailed: page?.stats?.['stat-failed'] ?? NaN,
    page429: page?.stats?.['stat-429'] ?? NaN,
  };
  f.tputVsIdeal = f.tutorialTput / f.idealTput;
  f.pageTputDeltaPct = (100 * (f.pageTput - f.tutorialTput)) / f.tutorialTput;

  const items = exported?.items;
  if (Array.isArray(items)) {
    clientFigures(f, items);
    jitterFigures(f, matchAttempts(items, api));
  }
  if (strict && Number.isFinite(f.jMs) && kind !== 'multitab') {
    f.jitterBound = jitterBound(f.jMs, rate);
    f.ratioOfBound = f.ratio / f.jitterBound;
  }
  const okArrivals = ok.map((l) => l.arrival_ms).sort((a, b) => a - b);
  if (kind === 'aimd') aimdFigures(f, okArrivals, arrivals[0], rate);
  if (kind === 'hidden') hiddenFigures(f, api, okArrivals, rate, page?.hidden);
  if (kind === 'faults') faultFigures(f, api, ok, arrivals, rate, page, Array.isArray(items) ? items : null);
  if (kind === 'multitab') multitabFigures(f, api, okArrivals, { rate, tabs, images: images / tabs, strict }, page);
  if (kind === 'ontime') onTimeFigures(f, api, Array.isArray(items) ? items : null, rate);
  f.verdict = kind === 'aimd' ? aimdVerdict(f) : kind === 'hidden' ? hiddenVerdict(f) : kind === 'ontime' ? onTimeVerdict(f, targets)
    : kind === 'faults' ? faultVerdict(f) : kind === 'multitab' ? multitabVerdict(f, { rate, handover, strict })
    : verdict(f, strict);
  return f;
}

/** The AIMD cell's targets: converged within 30 s, held ≥ 0.95 of the limit after, 429s < 5 %, every image done. */
export const AIMD_TARGETS = { convergeS: 30, held: 0.95, pct429: 5 };

function aimdVerdict(f) {
  const why = [];
  if (f.doneImages !== f.total) why.push(`done ${f.doneImages}/${f.total}`);
  if (!(f.convergeS < AIMD_TARGETS.convergeS)) why.push(Number.isFinite(f.convergeS) ? `converged at ${f.convergeS.toFixed(1)} s ≥ ${AIMD_TARGETS.convergeS} s` : 'never within 10 % of the limit');
  if (Number.isFinite(f.convergeS) && !(f.heldRatio >= AIMD_TARGETS.held)) why.push(`held ${f.heldRatio.toFixed(3)} < ${AIMD_TARGETS.held}`);
  if (!(f.pct429 < AIMD_TARGETS.pct429)) why.push(`429s ${f.pct429.toFixed(1)}% ≥ ${AIMD_TARGETS.pct429}%`);
  return { pass: why.length === 0, label: why.length === 0 ? 'PASS' : 'FAIL', why };
}

/** The hidden-tab cell's targets: ratio while hidden ≥ 0.95, 429s < 1 %, every image done; n/a without proof of hiding. */
export const HIDDEN_TARGETS = { ratio: 0.95, pct429: 1, plainMax: 2 };

function hiddenVerdict(f) {
  if (!Number.isFinite(f.hiddenRatio)) return { pass: false, label: 'n/a', why: ['the tab was never hidden'] };
  const proof = [];
  if (!f.stayedHidden) proof.push('the tab did not stay hidden');
  if (!(f.plainHidden <= HIDDEN_TARGETS.plainMax)) proof.push(`a plain setTimeout chain ran ${fx2(f.plainHidden)}/s while hidden: not throttled`);
  if (proof.length) return { pass: false, label: 'n/a', why: proof };
  const why = [];
  if (f.doneImages !== f.total) why.push(`done ${f.doneImages}/${f.total}`);
  if (!(f.hiddenRatio >= HIDDEN_TARGETS.ratio)) why.push(`hidden ratio ${f.hiddenRatio.toFixed(3)} < ${HIDDEN_TARGETS.ratio}`);
  if (!(f.pct429 < HIDDEN_TARGETS.pct429)) why.push(`429s ${f.pct429.toFixed(1)}% ≥ ${HIDDEN_TARGETS.pct429}%`);
  return { pass: why.length === 0, label: why.length === 0 ? 'PASS' : 'FAIL', why };
}

const fx2 = (v) => (Number.isFinite(v) ? v.toFixed(2) : '–');

/** PASS/FAIL against the targets (plus: every image done). */
function verdict(f, strict) {
  const why = [];
  if (f.doneImages !== f.total) why.push(`done ${f.doneImages}/${f.total}`);
  if (!(f.pct429 < 1)) why.push(`429s ${f.pct429.toFixed(1)}% ≥ 1%`);
  if (strict) {
    if (!Number.isFinite(f.jitterBound)) why.push('no J (no export): bound unknown');
    else if (!(f.ratio >= 0.98 * f.jitterBound)) why.push(`ratio ${f.ratio.toFixed(3)} < 0.98×bound ${(0.98 * f.jitterBound).toFixed(3)}`);
  } else if (!(f.ratio >= 0.98)) why.push(`ratio ${f.ratio.toFixed(3)} < 0.98`);
  const unknown = why.length === 1 && why[0].startsWith('no J');
  return { pass: why.length === 0, label: why.length === 0 ? 'PASS' : unknown ? 'n/a' : 'FAIL', why };
}
