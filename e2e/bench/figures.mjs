// The bench's figures for one cell, from the emulator's access log (ground
// truth) and the page's JSON export. Pure functions: no I/O.

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

/**
 * Pairs export attempts with log lines: per image, the k-th attempt (by
 * send time) with the k-th log line (by arrival). Offsets arrival − sent.
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
      pairs.push({ sent: attempts[k].sent_unix_ms, offset: lines[k].arrival_ms - attempts[k].sent_unix_ms });
    }
    unmatchedAttempts += attempts.length - n;
    unmatchedLines += lines.length - n;
  }
  for (const rest of byImage.values()) unmatchedLines += rest.length;
  return { offsets, pairs, unmatchedAttempts, unmatchedLines };
}

/** Every figure of one cell. `exported` is the parsed pacer-results.json or null. */
export function cellFigures({ rate, latencyMs, images, strict }, log, page, exported) {
  const api = log.filter((l) => l.method === 'GET' || l.method === 'POST');
  const ok = api.filter((l) => l.status === 200);
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
    const okAttempts = items.flatMap((i) => i.attempts ?? []).filter((a) => a.status === 200);
    f.clientLatencyAvg = mean(okAttempts.map((a) => a.latency_ms));
    f.clientLatencyP95 = quantile(okAttempts.map((a) => a.latency_ms), 0.95);
    f.exportAttempts = items.reduce((n, i) => n + (i.attempts?.length ?? 0), 0);
    const m = matchAttempts(items, api);
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
  if (strict && Number.isFinite(f.jMs)) {
    f.jitterBound = 1 / (1 + (f.jMs / 1000) * rate);
    f.ratioOfBound = f.ratio / f.jitterBound;
  }
  f.verdict = verdict(f, strict);
  return f;
}

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
