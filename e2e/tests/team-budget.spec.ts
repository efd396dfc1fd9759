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
// loaded 2-core machine a proxy's first connections took 70-140 ms to
// reach the upstream, which put a 12th arrival into the run's first second
// now and then. The floors below are smoke checks that a broken budget
// (each page at its own 10/s: 30/s into 10/s) fails by far.
import { test, expect, Browser } from '@playwright/test';
import { Emulator, isGood, logThroughput } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';
import { Proxy, Redis, busiestSecond, quantile } from '../support/team';

const RATE = 10;
const BURST = 1;
const ITEMS = 50; // per page
const PAGES = 3;
const KEY = 'team-e2e-key';
/** One arrival over limit + burst in a second: a first connection's delay, not a lost budget. */
const BUSIEST_FLOOR = RATE + BURST + 1;

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

/** Opens the pages (pages 0 and 1 behind proxy 0, page 2 behind proxy 1), each in its own context. */
async function openPages(browser: Browser): Promise<PacerPage[]> {
  const pacers: PacerPage[] = [];
  for (let t = 0; t < PAGES; t++) {
    const proxy = proxies[t < 2 ? 0 : 1];
    const context = await browser.newContext();
    const pacer = new PacerPage(await context.newPage());
    await pacer.open(proxy.url, { endpoint: proxy.url, rate: RATE, concurrency: 6, attempts: 8, timeout: 20 });
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
  const local = proxies.flatMap((p) => p.log()).filter((l) => l.budget === 'local').length;
  console.log(`${what}: together ${together.toFixed(3)} of ${RATE}/s, ${log.length} requests upstream, `
    + `${refused} × 429 (${((100 * refused) / log.length).toFixed(2)} %), busiest second ${busiest}, `
    + `hold p50 ${quantile(held, 0.5).toFixed(0)} ms p99 ${quantile(held, 0.99).toFixed(0)} ms, `
    + `${local} decided locally`);
  return { log, good, refused, busiest, together, local };
}

async function everyPageDone(pacers: PacerPage[]): Promise<void> {
  for (const p of pacers) {
    expect(await p.number('stat-done')).toBe(ITEMS);
    expect(await p.number('stat-failed')).toBe(0);
  }
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
  expect(f.good.size).toBe(PAGES * ITEMS);
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
  expect(f.busiest).toBeLessThanOrEqual(BUSIEST_FLOOR);
  // The outage was seen: some requests were paced locally, and the proxy said so.
  expect(f.local).toBeGreaterThan(0);
  expect(proxies.some((p) => p.output.includes('Redis unreachable'))).toBe(true);
});
