// Pacer's promise, checked against the access log: every item of a run
// ends done (once) or failed with its reason, and the page's own account of
// its requests is the log's.
import { expect } from '@playwright/test';
import { isGood, LogLine } from './emulator';
import { PacerPage, RowSeen } from './pacer-page';

/**
 * After a finished run of `images` items on `pacer`, whose requests are
 * `log` (this page's lines only): every row is done, with exactly one good
 * answer in the log, or failed with a reason; each row's tries are the
 * log's requests for its image; the page's done, sent and 429 counts are
 * the log's (the 429s only when the page can read them: `readable429`).
 * Returns the rows, for the caller's own checks.
 */
export async function expectEveryItemAccounted(
  pacer: PacerPage, images: number, log: LogLine[], { readable429 = true } = {},
): Promise<RowSeen[]> {
  const done = await pacer.number('stat-done');
  expect(done + (await pacer.number('stat-failed'))).toBe(images);
  expect(await pacer.number('stat-queued')).toBe(0);
  // Every row, as the page shows it (scrolled through: the list draws only
  // the rows in view).
  const rows = await pacer.allRows();
  expect(rows.map((r) => r.index)).toEqual(Array.from({ length: images }, (_, i) => i + 1));
  expect(rows.filter((r) => r.state !== 'done' && r.state !== 'failed')).toEqual([]);
  for (const r of rows.filter((r) => r.state === 'failed')) expect(r.reason.length, r.url).toBeGreaterThan(0);

  // No image succeeded twice, and the page's done are the log's successes.
  const good = new Map<string, number>();
  for (const l of log.filter(isGood)) good.set(l.image, (good.get(l.image) ?? 0) + 1);
  expect([...good].filter(([, n]) => n > 1)).toEqual([]);
  expect(good.size).toBe(done);
  for (const r of rows.filter((r) => r.state === 'done')) expect(good.has(r.url), r.url).toBe(true);

  // Each row's attempts are the log's requests for its image, and the
  // page's totals are the log's.
  const perImage = new Map<string, number>();
  for (const l of log) perImage.set(l.image, (perImage.get(l.image) ?? 0) + 1);
  expect(rows.filter((r) => perImage.get(r.url) !== r.tries)).toEqual([]);
  expect(await pacer.number('stat-sent')).toBe(log.length);
  if (readable429) expect(await pacer.number('stat-429')).toBe(log.filter((l) => l.status === 429).length);
  return rows;
}

/** How many log lines carry each fault (`none` for none). */
export function faultCounts(log: LogLine[]): Record<string, number> {
  const faults: Record<string, number> = {};
  for (const l of log) faults[l.fault ?? 'none'] = (faults[l.fault ?? 'none'] ?? 0) + 1;
  return faults;
}
