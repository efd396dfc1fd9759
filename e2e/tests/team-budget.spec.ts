// One budget for a team: three pages in separate browser contexts (so no
// BroadcastChannel or Web Lock joins them: they are as good as three
// machines), two behind one pacer-proxy and one behind another, both
// proxies keeping one budget of 10/s in one Redis. Upstream: the
// emulator's strict GCRA, 10/s with burst 1. Each page is set to the full
// 10/s, as people on separate machines would: without the budget they
// would send 30/s into a 10/s limit. The emulator's access log is the
// ground truth: the team's throughput, its 429s, the busiest second, and
// every image answered. Then the same with one proxy killed mid-run (and
// restarted on its port, as a service manager would), and with Redis
// restarted mid-run (the proxies pace alone at their share meanwhile).
//
// What is asserted here is behaviour: every image answered exactly once,
// no burst beyond what a proxy's first connection can cause, the outage
// seen and said. The speed and accuracy targets (together >= 0.97 of the
// limit, <= 1 % 429s, at most limit + burst = 11 arrivals in any second)
// are the bench's (`scripts/bench.sh --only team`, and `--check`): on a
// loaded 2-core machine requests forwarded on time reached the upstream
// up to a few hundred ms late in a run's first second, and bunched there.
// The floors below are smoke checks that a broken budget (each page at
// its own 10/s: 30/s into 10/s) fails by far.
import { test, expect, Browser, BrowserContext } from '@playwright/test';
import { Emulator, isGood, logThroughput } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';
import { Proxy, Redis, busiestSecond, quantile } from '../support/team';

const RATE = 10;
const BURST = 1;
const ITEMS = 50; // per page
const PAGES = 3;
const KEY = 'team-e2e-key';
/**
 * Two arrivals over limit + burst in a second: measured on a 2-core machine
 * at load 17, requests the proxies forwarded on time, 100 ms apart, reached
 * the emulator up to 230 ms later, together (the processes waiting for a
 * core), in a run's first second. Not a lost budget: that is 30/s into 10/s.
 */
const BUSIEST_FLOOR = RATE + BURST + 2;

let upstream: Emulator;
let redis: Redis;
let proxies: Proxy[];

test.beforeEach(async () => {
  upstream = await Emulator.start(['--limiter', 'gcra', '--limit', String(RATE), '--burst', String(BURST),
    '--latency-ms', '200']);
  redis = await Redis.start();
  proxies = [0, 1].map(() => new Proxy(['--to', upstream.url, '--budget', redis.url, '--budget-rate', String(RATE)]));
  for (const p of proxies) await p.start();
});
test.afterEach(async () => {
  for (const p of proxies ?? []) await p.kill();
  await redis?.stop();
  await upstream?.stop();
});

/**
 * Opens the pages (pages 0 and 1 behind proxy 0, page 2 behind proxy 1),
 * each in its own context, or with `tabs` pages 0 and 1 as two tabs of one
 * browser (one context: they share their budget among themselves too).
 */
async function openPages(browser: Browser, { tabs = false } = {}): Promise<PacerPage[]> {
  const pacers: PacerPage[] = [];
  let shared: BrowserContext | undefined;
  for (let t = 0; t < PAGES; t++) {
    const proxy = proxies[t < 2 ? 0 : 1];
    const context = tabs && t < 2 ? (shared ??= await browser.newContext()) : await browser.newContext();
    const pacer = new PacerPage(await context.newPage());
    // Two tabs of one browser share its 6 connections to their proxy's
    // origin (plain http): 3 tasks each, or requests would queue in the
    // browser, a wait neither the proxy nor the API sees.
    const concurrency = tabs && t < 2 ? 3 : 6;
    await pacer.open(proxy.url, { endpoint: proxy.url, rate: RATE, concurrency, attempts: 8, timeout: 20 });
    await pacer.byId('client-key').fill(KEY);
    const urls = Array.from({ length: ITEMS }, (_, i) =>
      `${upstream.url}/samples/img-${String((i % 40) + 1).padStart(4, '0')}.jpg?page=${t}&n=${i}`);
    await pacer.byId('urls').fill(urls.join('\n'));
    pacers.push(pacer);
  }
  return pacers;
}

async function run(pacers: PacerPage[], midRun?: () => Promise<void>): Promise<void> {
  await Promise.all(pacers.map((p) => p.byId('start').click()));
  if (midRun) {
    // A third of the way through.
    await expect.poll(() => upstream.log().length, { timeout: 30_000 }).toBeGreaterThanOrEqual((PAGES * ITEMS) / 3);
    await midRun();
  }
  await Promise.all(pacers.map((p) => p.waitForState('done', 120_000)));
}

/** The figures of a finished run, printed and returned. */
function figures(what: string) {
  const log = upstream.log();
  const good = new Map<string, number>();
  for (const l of log.filter(isGood)) good.set(l.image, (good.get(l.image) ?? 0) + 1);
  const refused = log.filter((l) => l.status === 429).length;
  const busiest = busiestSecond(log.map((l) => l.arrival_ms));
  const together = logThroughput(log) / RATE;
  const held = proxies.flatMap((p) => p.log()).filter((l) => l.hold_ms !== undefined).map((l) => l.hold_ms!);
  const holdP50 = quantile(held, 0.5);
  const local = proxies.flatMap((p) => p.log()).filter((l) => l.budget === 'local').length;
  console.log(`${what}: together ${together.toFixed(3)} of ${RATE}/s, ${log.length} requests upstream, `
    + `${refused} × 429 (${((100 * refused) / log.length).toFixed(2)} %), busiest second ${busiest}, `
    + `hold p50 ${quantile(held, 0.5).toFixed(0)} ms p99 ${quantile(held, 0.99).toFixed(0)} ms, `
    + `${local} decided locally`);
  return { log, good, refused, busiest, together, local, holdP50 };
}

async function everyPageDone(pacers: PacerPage[]): Promise<void> {
  for (const p of pacers) {
    expect(await p.number('stat-done')).toBe(ITEMS);
    expect(await p.number('stat-failed')).toBe(0);
  }
}

/**
 * Each page says it goes through the team budget, and its latency figures
 * leave the proxy's hold out: with 18 requests in flight for a 10/s budget
 * the proxies hold each for about a second, the emulator answers in 200 ms.
 */
async function pagesKnowTheTeamBudget(pacers: PacerPage[], holdP50: number, { tabs = false } = {}): Promise<void> {
  for (const [t, p] of pacers.entries()) {
    await expect(p.byId('team-budget')).toContainText(`Team budget ${RATE}/s through the proxy`);
    const latencyP50 = await p.number('stat-latency-p50');
    expect(latencyP50).toBeLessThan(200 + holdP50);
    // Smoke floor: the API's 200 ms and a loaded machine's overhead, far
    // below the hold. Not for two tabs of one browser: their requests can
    // also wait for one of the browser's 6 connections to the proxy.
    if (!(tabs && t < 2)) expect(latencyP50).toBeLessThan(200 + 300);
  }
  expect(holdP50).toBeGreaterThan(300);
}

test('three pages behind two proxies share one 10/s budget', async ({ browser }) => {
  const pacers = await openPages(browser);
  await run(pacers);
  const f = figures('team budget');
  await everyPageDone(pacers);
  // Every image answered once, at the upstream.
  expect(f.good.size).toBe(PAGES * ITEMS);
  expect([...f.good.values()].filter((n) => n !== 1)).toEqual([]);
  expect(f.busiest).toBeLessThanOrEqual(BUSIEST_FLOOR);
  expect(f.refused / f.log.length).toBeLessThanOrEqual(0.03);
  expect(f.together).toBeGreaterThanOrEqual(0.9);
  // The proxies announced the team budget and never decided alone.
  expect(f.local).toBe(0);
  expect(proxies.every((p) => p.log().every((l) => l.key === ''))).toBe(true);
  await pagesKnowTheTeamBudget(pacers, f.holdP50);
});

test('two tabs of one browser behind one proxy share their budget and the team\'s', async ({ browser }) => {
  const pacers = await openPages(browser, { tabs: true });
  await run(pacers);
  const f = figures('two tabs and a page');
  await everyPageDone(pacers);
  expect(f.good.size).toBe(PAGES * ITEMS);
  expect([...f.good.values()].filter((n) => n !== 1)).toEqual([]);
  expect(f.busiest).toBeLessThanOrEqual(BUSIEST_FLOOR);
  expect(f.refused / f.log.length).toBeLessThanOrEqual(0.03);
  await pagesKnowTheTeamBudget(pacers, f.holdP50, { tabs: true });
});

test('a proxy killed mid-run: its page retries through it once it is back, nothing lost', async ({ browser }) => {
  const pacers = await openPages(browser);
  await run(pacers, async () => {
    await proxies[1].kill();
    await new Promise((r) => setTimeout(r, 1500));
    await proxies[1].start();
  });
  const f = figures('proxy killed');
  await everyPageDone(pacers);
  // Nothing lost: every image answered. One the API answered while its
  // proxy was being killed never reached its page, which sent it again: at
  // most the killed proxy's page's pool (6) can be answered twice.
  expect(f.good.size).toBe(PAGES * ITEMS);
  expect([...f.good.values()].filter((n) => n !== 1).length).toBeLessThanOrEqual(6);
  expect(f.busiest).toBeLessThanOrEqual(BUSIEST_FLOOR);
});

test('Redis restarted mid-run: the proxies pace at their share meanwhile, no burst on return', async ({ browser }) => {
  const pacers = await openPages(browser);
  await run(pacers, async () => {
    await redis.stop();
    await new Promise((r) => setTimeout(r, 2000));
    await redis.restart();
  });
  const f = figures('Redis restarted');
  await everyPageDone(pacers);
  expect(f.good.size).toBe(PAGES * ITEMS);
  expect([...f.good.values()].filter((n) => n !== 1)).toEqual([]);
  expect(f.busiest).toBeLessThanOrEqual(BUSIEST_FLOOR);
  // The outage was seen: some requests were paced locally, and the proxy said so.
  expect(f.local).toBeGreaterThan(0);
  expect(proxies.some((p) => p.output.includes('Redis unreachable'))).toBe(true);
});
