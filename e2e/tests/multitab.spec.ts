// Tabs of one origin with the same endpoint and key share
// one rate budget. Two and three pages of one browser context run against
// one emulator with a strict nginx-like limiter (10/s, burst 0, 1 s
// latency) over HTTPS/HTTP2 (over plain http the browser's 6 connections
// per origin, shared by all tabs, would cap the budget at 6/s). The access
// log is the ground truth; the figures are printed, with per-tab
// diagnostics (how late each send went after its grant, how far ahead the
// grants came, slots given up, send-to-arrival delays, and what preceded
// each 429). The issue's targets (≥ 0.97 of the limit, ≤ 1 % 429s, a
// handover gap of one interval) are what the bench judges (e2e/bench,
// `--only multitab`); this spec asserts what a busy 2-core CI machine
// reliably meets: never over the limit, every tab finishes, no slot is
// given up for a late wake-up, and margins that the old protocol
// (0.67–0.84 of the limit, 3–7 % 429s, gaps of 300–445 ms) did not meet.
import { test, expect, Browser, Page } from '@playwright/test';
import { Emulator, LogLine } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';

const RATE = 10;
const INTERVAL_MS = 1000 / RATE;
let emu: Emulator;

test.beforeEach(async () => {
  emu = await Emulator.start(
    ['--limiter', 'gcra', '--burst', '0', '--limit', String(RATE), '--latency-ms', '1000'],
    { tls: true },
  );
});
test.afterEach(async () => emu?.stop());

/** Which tab sent a logged request (its image URLs carry `?tab=N`). */
const tabOf = (l: LogLine): number => Number(/[?&]tab=(\d+)/.exec(l.image)?.[1] ?? -1);

async function openTabs(browser: Browser, n: number, items: number): Promise<{ pages: Page[]; pacers: PacerPage[] }> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const base = emu.tlsUrl!;
  const pages: Page[] = [];
  const pacers: PacerPage[] = [];
  for (let t = 0; t < n; t++) {
    const page = await context.newPage();
    // The shared budget's diagnostics (src/run/tabs.rs): every grant made,
    // received and sent on, with its planned instant.
    await page.addInitScript(() => { (globalThis as any).__pacerTabTrace = []; });
    const pacer = new PacerPage(page);
    await pacer.open(base, { endpoint: base, rate: RATE, concurrency: 24 });
    const urls = Array.from({ length: items }, (_, i) =>
      `${base}/samples/img-${String((i % 40) + 1).padStart(4, '0')}.jpg?tab=${t}&n=${i}`);
    await pacer.byId('urls').fill(urls.join('\n'));
    pages.push(page);
    pacers.push(pacer);
  }
  return { pages, pacers };
}

interface TraceEntry { kind: string; at: number; now: number; item?: number; attempt?: number; tab?: number }

const q = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '–');

/**
 * Per tab: how late its sends went after the instant granted (`late`),
 * how far ahead the grants reached it (`ahead`), the slots it gave up, and
 * the log's arrival − the page's send (`net`).
 */
async function diagnose(pages: Page[], log: LogLine[]): Promise<{ lines: string[]; skipped: number; earliest: number; sent: number }> {
  const lines: string[] = [];
  let skippedAll = 0;
  let earliest = Infinity;
  let sentAll = 0;
  /** Every matched send: its tab, grant, send, arrival and status. */
  const all: { t: number; at: number; now: number; arrival: number; status: number }[] = [];
  for (let t = 0; t < pages.length; t++) {
    if (pages[t].isClosed()) continue;
    const trace: TraceEntry[] = await pages[t].evaluate(() => (globalThis as any).__pacerTabTrace ?? []);
    const sent = trace.filter((e) => e.kind === 'sent');
    const late = sent.map((e) => e.now - e.at);
    const ahead = trace.filter((e) => e.kind === 'received').map((e) => e.at - e.now);
    const skipped = trace.filter((e) => e.kind === 'skipped');
    skippedAll += skipped.length;
    earliest = Math.min(earliest, ...late);
    sentAll += sent.length;
    const granted = trace.filter((e) => e.kind === 'granted');
    const mine = log.filter((l) => tabOf(l) === t);
    const net: number[] = [];
    for (const e of sent) {
      const ls = mine.filter((l) => new RegExp(`[?&]n=${e.item}(&|$)`).test(l.image)).sort((a, b) => a.arrival_ms - b.arrival_ms);
      const l = ls[e.attempt! - 1] ?? ls[ls.length - 1];
      if (l) {
        net.push(l.arrival_ms - e.now);
        all.push({ t, at: e.at, now: e.now, arrival: l.arrival_ms, status: l.status });
      }
    }
    lines.push(`tab ${t}: ${sent.length} sends (gated), late p50/p90/max ${f1(q(late, 0.5))}/${f1(q(late, 0.9))}/${f1(Math.max(...late))} ms; `
      + `grants reached it ahead p10/min ${f1(q(ahead, 0.1))}/${f1(Math.min(...ahead))} ms; ${skipped.length} slots given up; `
      + `net p50/p99/max ${f1(q(net, 0.5))}/${f1(q(net, 0.99))}/${f1(Math.max(...net))} ms; `
      + `${granted.length} grants made${granted.length ? `, ahead p10/min ${f1(q(granted.map((g) => g.at - g.now), 0.1))}/${f1(Math.min(...granted.map((g) => g.at - g.now)))} ms, `
        + `spacing p50 ${f1(q(granted.slice(1).map((g, i) => g.at - granted[i].at), 0.5))} ms` : ''}`);
    if (process.env.MULTITAB_DEBUG) {
      lines.push(`  late: ${late.map((x) => x.toFixed(0)).join(' ')}`);
      lines.push(`  ahead: ${ahead.map((x) => x.toFixed(0)).join(' ')}`);
      lines.push(`  net: ${net.map((x) => x.toFixed(0)).join(' ')}`);
      if (granted.length) lines.push(`  spacing: ${granted.slice(1).map((g, i) => (g.at - granted[i].at).toFixed(0)).join(' ')}`);
    }
  }
  // Each 429: the accepted arrival before it, and how far apart the two
  // were planned, sent and arrived (a send gap ≥ the interval with an
  // arrival gap under it is the network's doing, not the pacer's).
  all.sort((a, b) => a.arrival - b.arrival);
  let prev: (typeof all)[number] | undefined;
  for (const e of all) {
    if (e.status === 429 && prev) {
      lines.push(`429 of tab ${e.t}: after tab ${prev.t}'s, planned ${f1(e.at - prev.at)} ms apart, sent ${f1(e.now - prev.now)}, `
        + `arrived ${f1(e.arrival - prev.arrival)} (net ${f1(prev.arrival - prev.now)} then ${f1(e.arrival - e.now)})`);
    }
    if (e.status === 200) prev = e;
  }
  return { lines, skipped: skippedAll, earliest, sent: sentAll };
}

/** Figures over the span in which every tab was sending. */
function figures(log: LogLine[], tabs: number) {
  const byTab = Array.from({ length: tabs }, (_, t) => log.filter((l) => tabOf(l) === t));
  const from = Math.max(...byTab.map((ls) => Math.min(...ls.map((l) => l.arrival_ms))));
  const to = Math.min(...byTab.map((ls) => Math.max(...ls.map((l) => l.arrival_ms))));
  const ok = log.filter((l) => l.status === 200).map((l) => l.arrival_ms).sort((a, b) => a - b);
  const together = ok.filter((a) => a >= from && a <= to);
  const rate = (together.length - 1) / ((to - from) / 1000);
  let maxInSecond = 0;
  for (let i = 0, j = 0; j < ok.length; j++) {
    while (ok[j] - ok[i] >= 1000) i++;
    maxInSecond = Math.max(maxInSecond, j - i + 1);
  }
  const sends = log.filter((l) => l.status !== 0).length;
  const limited = log.filter((l) => l.status === 429).length;
  const perTab = byTab.map((ls) => ls.filter((l) => l.status === 200).length);
  return { rate, seconds: (to - from) / 1000, maxInSecond, sends, limited, perTab };
}

for (const tabs of [2, 3]) {
  test(`${tabs} tabs share a strict 10/s budget`, async ({ browser }) => {
    const items = tabs === 2 ? 70 : 50;
    const { pages, pacers } = await openTabs(browser, tabs, items);
    for (const p of pacers) await p.byId('start').click();
    for (const p of pacers) await p.waitForState('running', 5_000);
    // Every tab says it shares, and with how many.
    const others = tabs - 1;
    const word = others === 1 ? '1 other tab' : `${others} other tabs`;
    for (const p of pacers) {
      await expect(p.byId('notice')).toContainText(`Sharing the 10/s budget with ${word}`, { timeout: 5_000 });
      // The pacing figure says it is shared (its number stays the budget's).
      await expect(p.byId('pacing-shared')).toHaveText(`shared by ${tabs} tabs`);
    }
    for (const p of pacers) await p.waitForState('done', 100_000);
    const f = figures(emu.log(), tabs);
    const d = await diagnose(pages, emu.log());
    for (const l of d.lines) console.log(l);
    if (process.env.MULTITAB_DEBUG) {
      const ls = emu.log().sort((a, b) => a.arrival_ms - b.arrival_ms);
      console.log(ls.map((l, i) => `${i ? (l.arrival_ms - ls[i - 1].arrival_ms).toFixed(1) : 0}:${tabOf(l)}:${l.status}`).join(' '));
    }
    console.log(`${tabs} tabs: ${f.rate.toFixed(3)}/s combined over ${f.seconds.toFixed(1)} s together `
      + `(${(f.rate / RATE).toFixed(3)} of ${RATE}), max ${f.maxInSecond} in 1 s, `
      + `${f.limited} × 429 of ${f.sends} sends, per tab ${f.perTab.join('/')}`);
    // Behaviour: the tabs together never go over the shared limit, every
    // tab finishes, a late grant or wake-up costs its lateness, not its
    // slot, and no send goes before its instant. Measured here (2-core
    // machine, sends timed by each tab's worker): 0.955-0.965 of the limit
    // with 1-2 % 429s, each after a request that reached the emulator a few
    // ms later than usual after its send (printed above), which no pacer
    // can see coming. The rate is the bench's to judge (multitab cells);
    // the floor here only catches a protocol that serialises the tabs or
    // stalls, and leaves room for a busy CI machine (0.83 was seen at load
    // 4). "Slots given up" is the behaviour the old protocol got wrong
    // (12-27 per tab).
    expect(f.seconds).toBeGreaterThanOrEqual(10);
    expect(f.rate).toBeLessThanOrEqual(RATE * 1.01);
    expect(f.maxInSecond).toBeLessThanOrEqual(RATE + 1);
    expect(f.rate).toBeGreaterThanOrEqual(0.6 * RATE);
    expect(f.limited).toBeLessThanOrEqual(0.1 * f.sends);
    expect(d.skipped).toBeLessThanOrEqual(2);
    // The timer worker sends each request at its grant's instant, never
    // before it (1 ms: the page's and the worker's clocks are read apart).
    expect(d.sent).toBe(f.sends);
    expect(d.earliest).toBeGreaterThanOrEqual(-1);
    for (const n of f.perTab) expect(n).toBe(items);
    for (const page of pages) await page.close();
  });
}

test('closing the leading tab mid-run hands the budget over without burst or stall', async ({ browser }) => {
  const tabs = 3;
  const { pages, pacers } = await openTabs(browser, tabs, 60);
  for (const p of pacers) await p.byId('start').click();
  for (const p of pacers) await expect(p.byId('notice')).toContainText('Sharing the 10/s budget', { timeout: 5_000 });
  await pages[0].waitForTimeout(5_000);
  let leader = -1;
  for (let t = 0; t < tabs; t++) {
    if (((await pacers[t].byId('notice').textContent()) ?? '').includes('hands out')) leader = t;
  }
  expect(leader).toBeGreaterThanOrEqual(0);
  const closedAt = Date.now();
  await pages[leader].close({ runBeforeUnload: true });
  const rest = pacers.filter((_, t) => t !== leader);
  // Someone else leads now.
  await expect.poll(async () => {
    for (const p of rest) if (((await p.byId('notice').textContent()) ?? '').includes('hands out')) return true;
    return false;
  }, { timeout: 5_000 }).toBe(true);
  for (const p of rest) await p.waitForState('done', 100_000);
  const log = emu.log();
  const d = await diagnose(pages, log);
  for (const l of d.lines) console.log(l);
  // Every arrival, status 0 included: requests the close cut off were
  // still counted by the limiter, so they belong in the spacing.
  const arrivals = log.map((l) => l.arrival_ms).sort((a, b) => a - b);
  const around = arrivals.filter((a) => a >= closedAt - 2_000 && a <= closedAt + 3_000);
  let gap = 0;
  let gapAt = 0;
  for (let i = 1; i < around.length; i++) {
    if (around[i] - around[i - 1] > gap) { gap = around[i] - around[i - 1]; gapAt = around[i - 1]; }
  }
  const limited = log.filter((l) => l.status === 429).length;
  const after = log.filter((l) => l.arrival_ms > closedAt && l.status === 200).length;
  console.log(`handover: leader tab ${leader} closed; largest gap between arrivals ${gap.toFixed(1)} ms `
    + `(${(gap / INTERVAL_MS).toFixed(2)} intervals) at ${(gapAt - closedAt).toFixed(0)} ms from the close; `
    + `${limited} × 429 of ${log.length} sends; ${after} successes after the close`);
  // No stall and no burst: the budget is handed over. Measured here: the
  // largest gap around the close 200–210 ms (the usual spacing plus one
  // interval; the issue's target), and not at the close itself; the old
  // protocol left 300–445 ms. The bound leaves room for a busier machine.
  expect(gap).toBeLessThan(4 * INTERVAL_MS);
  expect(limited).toBeLessThanOrEqual(0.1 * log.length);
  const aroundClose = arrivals.filter((a) => a >= closedAt - 1_000 && a <= closedAt + 2_000);
  let burst = 0;
  for (let i = 0, j = 0; j < aroundClose.length; j++) {
    while (aroundClose[j] - aroundClose[i] >= 1000) i++;
    burst = Math.max(burst, j - i + 1);
  }
  expect(burst).toBeLessThanOrEqual(RATE + 1);
  for (let t = 0; t < tabs; t++) {
    if (t !== leader) expect(log.filter((l) => tabOf(l) === t && l.status === 200)).toHaveLength(60);
  }
});
