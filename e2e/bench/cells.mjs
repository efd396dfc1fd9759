// The bench's cells (the matrix) and the command-line selection of
// them. A cell is one fresh emulator + one fresh browser + one run.

/** Emulator limiter setups, in table order. */
export const LIMITERS = [
  { id: 'gcra-b0', label: 'gcra burst 0', args: ['--limiter', 'gcra', '--burst', '0'], strict: true },
  { id: 'gcra-b4', label: 'gcra burst 4', args: ['--limiter', 'gcra', '--burst', '4'], strict: false },
  { id: 'fw', label: 'fixed-window', args: ['--limiter', 'fixed-window'], strict: false },
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
 * Cells beyond the matrix (issue 2/5): the page's own rate differs from the
 * server's limit (`pageRate`), or the page probes for it (`query.auto`).
 * Figures are always against `rate`, the server's limit. A cell's `kind`
 * picks its own criteria and verdict (figures.mjs): `aimd` (convergence,
 * held share), `hidden` (the tab hidden behind a second one, hidden-tab.mjs).
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
];

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
  return [...matrix, ...(quick ? [] : EXTRA)].map((c) => ({
    ...c,
    concurrency: concurrencyFor(Math.max(c.rate, c.pageRate ?? 0), c.latencyMs),
  }));
}

/** Cells whose id contains any of the `--only` patterns (all when none). */
export function selectCells(cells, only) {
  if (only.length === 0) return cells;
  return cells.filter((c) => only.some((p) => c.id.includes(p)));
}
