// The bench's cells (the matrix) and the command-line selection of
// them. A cell is one fresh emulator + one fresh browser + one run.

/** Emulator limiter setups, in table order. */
export const LIMITERS = [
  { id: 'gcra-b0', label: 'gcra burst 0', args: ['--limiter', 'gcra', '--burst', '0'], strict: true },
  { id: 'gcra-b4', label: 'gcra burst 4', args: ['--limiter', 'gcra', '--burst', '4'], strict: false },
  { id: 'fw', label: 'fixed-window', args: ['--limiter', 'fixed-window'], strict: false },
  // Sliding windows over the last second that count refused requests too
  // (a Redis sorted-set log; HAProxy's http_req_rate): no rate headers, so
  // sending into 429s keeps the window full. Targets as fixed-window's.
  { id: 'slog', label: 'sliding-log 1 s', args: ['--limiter', 'sliding-log'], strict: false },
  { id: 'scount', label: 'sliding-counter 1 s', args: ['--limiter', 'sliding-counter'], strict: false },
];

/** (rate req/s, latency ms, images) per limiter; `--quick` uses the short list. */
const FULL = [
  { rate: 4, latencyMs: 1000, images: 60 },
  { rate: 4, latencyMs: 1000, images: 200 },
  { rate: 10, latencyMs: 1000, images: 200 },
];
const QUICK = [
  { rate: 4, latencyMs: 1000, images: 20 },
  { rate: 10, latencyMs: 1000, images: 40 },
];

/** Page concurrency that is never the limit: rate × latency × 1.5 + 2. */
export function concurrencyFor(rate, latencyMs) {
  return Math.ceil(rate * (latencyMs / 1000) * 1.5 + 2);
}

/**
 * Cells beyond the matrix: the page's own rate differs from the
 * server's limit (`pageRate`), or the page probes for it (`query.auto`).
 * Figures are always against `rate`, the server's limit. A cell's `kind`
 * picks its own criteria and verdict (figures.mjs): `aimd` (convergence,
 * held share), `hidden` (the tab hidden behind a second one, hidden-tab.mjs),
 * `faults` (every item accounted for under injected faults). A cell may add
 * emulator flags (`emulatorArgs`), fix its page concurrency (`concurrency`)
 * and give the run longer than the usual 3 × its expected span (`runTimeoutMs`).
 */
const EXTRA = [
  {
    // The page and the API share an origin here, so CORS hides nothing: an
    // unannounced limit needs a limiter that sends no headers at all.
    id: 'aimd-gcra-b4-r10-n300',
    kind: 'aimd',
    limiter: { id: 'aimd-gcra-b4', label: 'gcra burst 4 (no headers), page auto from 2/s', args: ['--limiter', 'gcra', '--burst', '4'], strict: false },
    rate: 10, pageRate: 2, query: { auto: 1 }, latencyMs: 1000, images: 300,
  },
  {
    id: 'announced-lower-r8-n200',
    limiter: { id: 'fw', label: 'fixed-window 8/s, page set to 12/s', args: ['--limiter', 'fixed-window'], strict: false },
    rate: 8, pageRate: 12, latencyMs: 1000, images: 200,
  },
  {
    id: 'gcra-b4-r50-n500',
    limiter: LIMITERS[1],
    rate: 50, latencyMs: 100, images: 500,
  },
  {
    // Hidden after 5 s for 6¼ min: past Chrome's 5 minutes, after which a
    // hidden tab's timers run once a minute. 1600 images at 4/s keep the page
    // busy for 400 s, so it still has work when it is shown again.
    id: 'hidden-gcra-b4-r4-n1600',
    kind: 'hidden',
    limiter: { id: 'hidden-gcra-b4', label: 'gcra burst 4, tab hidden 6¼ min', args: ['--limiter', 'gcra', '--burst', '4'], strict: false },
    rate: 4, latencyMs: 1000, images: 1600, hideAfterMs: 5_000, hiddenMs: 375_000,
  },
  {
    // The fault journey's mix (e2e/tests/faults.spec.ts):
    // of the answers the limiter lets through, 10 % are a 5xx, 5 % get no
    // answer, 5 % come after 6 s (past the page's 3 s timeout: abandoned)
    // and 2 % are a 200 with broken JSON; seeded. Retries spend the same
    // 20/s, so good successes come at ~0.78 of the rate at best. A slow
    // attempt holds its task for the whole 3 s timeout, so the concurrency
    // is the journey's 16, not rate × latency × 1.5 + 2 = 11.
    id: 'faults-fw-r20-n300',
    kind: 'faults',
    limiter: { id: 'faults-fw', label: 'fixed-window, faults 10 % 5xx + 5 % drop + 5 % slow 6 s + 2 % bad JSON (seed 7), page timeout 3 s', args: ['--limiter', 'fixed-window'], strict: false },
    emulatorArgs: ['--fail-5xx', '0.1', '--drop', '0.05', '--slow', '0.05', '--slow-ms', '6000', '--bad-json', '0.02', '--fault-seed', '7'],
    rate: 20, latencyMs: 300, images: 300, query: { timeout: 3 }, concurrency: 16, runTimeoutMs: 180_000,
  },
];

/**
 * Every send on time (kind `ontime`, own figures and verdict in
 * figures.mjs, targets printed with each row): a lone tab's sends from the
 * timer worker (the 2nd send and the first 5 s), against a strict limiter
 * whose 429s say `Retry-After: 1` (no learning 429), what the starting
 * margin costs servers that tolerate early arrivals, and 200/s over
 * HTTPS/HTTP2. `--only ontime` runs them all; `--only ontime-200` the
 * 200/s ones.
 */
const RA = ['--retry-after'];
const ONTIME_B0 = { id: 'ontime-gcra-b0-ra', label: 'gcra burst 0, Retry-After (whole s)', args: ['--limiter', 'gcra', '--burst', '0', ...RA], strict: true };
const ONTIME_B4 = { id: 'ontime-gcra-b4-ra', label: 'gcra burst 4, Retry-After (whole s)', args: ['--limiter', 'gcra', '--burst', '4', ...RA], strict: false };
const ONTIME_FW = { id: 'ontime-fw-ra', label: 'fixed-window, Retry-After (whole s)', args: ['--limiter', 'fixed-window', ...RA], strict: false };
const ONTIME_B10 = { id: 'ontime-200-gcra-b10', label: 'gcra burst 10, https/h2', args: ['--limiter', 'gcra', '--burst', '10'], strict: false };
export const ONTIME = [
  { id: 'ontime-gcra-b0-ra-r4-n60', limiter: ONTIME_B0, rate: 4, latencyMs: 1000, images: 60, targets: { ratio: 0.97, max429: 1 } },
  { id: 'ontime-gcra-b0-ra-r10-n100', limiter: ONTIME_B0, rate: 10, latencyMs: 300, images: 100, targets: { ratio: 0.93, max429: 1 } },
  { id: 'ontime-gcra-b4-ra-r4-n60', limiter: ONTIME_B4, rate: 4, latencyMs: 1000, images: 60, targets: { ratio: 0.99, max429: 0 } },
  { id: 'ontime-gcra-b4-ra-r10-n100', limiter: ONTIME_B4, rate: 10, latencyMs: 300, images: 100, targets: { ratio: 0.99, max429: 0 } },
  { id: 'ontime-fw-ra-r4-n60', limiter: ONTIME_FW, rate: 4, latencyMs: 1000, images: 60, targets: { ratio: 0.99, max429: 0 } },
  { id: 'ontime-fw-ra-r10-n100', limiter: ONTIME_FW, rate: 10, latencyMs: 300, images: 100, targets: { ratio: 0.99, max429: 0 } },
  { id: 'ontime-200-gcra-b10-r100-n2000', limiter: ONTIME_B10, rate: 100, latencyMs: 200, images: 2000, targets: { ratio: 0.98, max429: 0 } },
  { id: 'ontime-200-gcra-b10-r200-n4000', limiter: ONTIME_B10, rate: 200, latencyMs: 200, images: 4000, targets: { ratio: 0.98, max429: 0 } },
].map((c) => ({ ...c, kind: 'ontime' }));

/**
 * Tabs of one origin sharing one budget (same
 * endpoint, same key) against a strict limit, 10/s with 1 s latency; and
 * the leading tab closed mid-run (the handover gap). `images` is the total
 * over all tabs (`tabs` × each tab's); own figures and verdict (figures.mjs).
 * `--only multitab` runs just these.
 */
const MULTITAB_LIMITER = { id: 'multitab-gcra-b0', label: 'gcra burst 0, shared by the tabs', args: ['--limiter', 'gcra', '--burst', '0'], strict: true };
const MULTITAB_FW = { id: 'multitab-fw', label: 'fixed-window, shared by the tabs', args: ['--limiter', 'fixed-window'], strict: false };
const MULTITAB_B4 = { id: 'multitab-gcra-b4', label: 'gcra burst 4, shared by the tabs', args: ['--limiter', 'gcra', '--burst', '4'], strict: false };
// A sliding one-second log (refusals counted, no headers), shared: the
// tabs' sends must span more than a second per `limit` of them together.
const MULTITAB_SLOG = { id: 'multitab-slog', label: 'sliding-log 1 s, shared by the tabs', args: ['--limiter', 'sliding-log'], strict: false };
export const MULTITAB = [
  { id: 'multitab-2tabs-r10', kind: 'multitab', limiter: MULTITAB_LIMITER, tabs: 2, rate: 10, latencyMs: 1000, images: 2 * 100, runTimeoutMs: 120_000 },
  { id: 'multitab-3tabs-r10', kind: 'multitab', limiter: MULTITAB_LIMITER, tabs: 3, rate: 10, latencyMs: 1000, images: 3 * 70, runTimeoutMs: 120_000 },
  {
    id: 'multitab-handover-3tabs-r10', kind: 'multitab', handover: true, limiter: { ...MULTITAB_LIMITER, label: 'gcra burst 0, shared; leader closed after 6 s' },
    tabs: 3, rate: 10, latencyMs: 1000, images: 3 * 60, closeLeaderAfterMs: 6_000, runTimeoutMs: 120_000,
  },
  // The same tabs against the two tolerant limiters of the matrix (the
  // emulator's default is the fixed window).
  { id: 'multitab-fw-2tabs-r10', kind: 'multitab', limiter: MULTITAB_FW, tabs: 2, rate: 10, latencyMs: 1000, images: 2 * 100, runTimeoutMs: 120_000 },
  { id: 'multitab-fw-3tabs-r10', kind: 'multitab', limiter: MULTITAB_FW, tabs: 3, rate: 10, latencyMs: 1000, images: 3 * 70, runTimeoutMs: 120_000 },
  {
    id: 'multitab-fw-handover-3tabs-r10', kind: 'multitab', handover: true, limiter: { ...MULTITAB_FW, label: 'fixed-window, shared; leader closed after 6 s' },
    tabs: 3, rate: 10, latencyMs: 1000, images: 3 * 60, closeLeaderAfterMs: 6_000, runTimeoutMs: 120_000,
  },
  { id: 'multitab-gcra-b4-2tabs-r10', kind: 'multitab', limiter: MULTITAB_B4, tabs: 2, rate: 10, latencyMs: 1000, images: 2 * 100, runTimeoutMs: 120_000 },
  { id: 'multitab-gcra-b4-3tabs-r10', kind: 'multitab', limiter: MULTITAB_B4, tabs: 3, rate: 10, latencyMs: 1000, images: 3 * 70, runTimeoutMs: 120_000 },
  { id: 'multitab-slog-2tabs-r4', kind: 'multitab', limiter: MULTITAB_SLOG, tabs: 2, rate: 4, latencyMs: 1000, images: 2 * 60, runTimeoutMs: 120_000 },
  { id: 'multitab-slog-2tabs-r10', kind: 'multitab', limiter: MULTITAB_SLOG, tabs: 2, rate: 10, latencyMs: 1000, images: 2 * 100, runTimeoutMs: 120_000 },
];

/**
 * The cells `--check` runs when no `--only` is given: one per limiter family
 * the targets speak of, short enough for a gate (~6 minutes in all).
 */
export const KEY_CELLS = ['fw-r4-n60', 'gcra-b4-r10-n200', 'gcra-b0-r4-n60', 'multitab-fw-2tabs-r10', 'faults-fw-r20-n300', 'ontime-gcra-b0-ra-r10-n100'];

/**
 * The team-budget cells (pacer-proxy with Redis; their own runner and
 * figures in team.mjs): 2 and 4 proxies sharing 10/s. `--only team` runs them.
 */
export { TEAM } from './team.mjs';

/** Every cell, e.g. id `gcra-b0-r4-n60`. */
export function allCells({ quick = false } = {}) {
  const shapes = quick ? QUICK : FULL;
  const matrix = LIMITERS.flatMap((lim) =>
    shapes.map((s) => ({
      id: `${lim.id}-r${s.rate}-n${s.images}`,
      limiter: lim,
      ...s,
    })),
  );
  return [...matrix, ...(quick ? [] : [...EXTRA, ...MULTITAB, ...ONTIME])].map((c) => ({
    ...c,
    concurrency: c.concurrency ?? concurrencyFor(Math.max(c.rate, c.pageRate ?? 0), c.latencyMs),
  }));
}

/** Cells whose id contains any of the `--only` patterns (all when none); `=ID` matches that id only. */
export function selectCells(cells, only) {
  if (only.length === 0) return cells;
  return cells.filter((c) => only.some((p) => (p.startsWith('=') ? c.id === p.slice(1) : c.id.includes(p))));
}
