// The team-budget cells: N pacer-proxy processes keep one budget of 10/s
// in one Redis (a redis-server of our own on loopback), in front of the
// emulator's strict GCRA (10/s, burst 1, 300 ms latency). One page per
// proxy, each in its own browser context (as separate machines: no shared
// BroadcastChannel) and each set to the full 10/s, so that without the
// budget they would send N × 10/s. Figures from the emulator's access log
// (ground truth) and the proxies' logs (the hold of each request):
//   together    good answers ÷ (last end − first arrival), ÷ the limit   ≥ 0.97
//   429s        of all requests upstream                                ≤ 1 %
//   busiest     most requests arriving in any one second                ≤ 11
//   hold        how long the proxies held requests for their slot (p50, p99)
//
// And the faults, a third of the way through (by the emulator's log):
//   kill        the last proxy killed (SIGKILL), restarted on its port 1.5 s
//               later (as a service manager would): its page sees its
//               requests fail and retries them by its own rules. Judged:
//               every image answered, no second over limit + burst; the
//               throughput is reported (the page waits out the gap).
//   redis       Redis killed, restarted empty 2 s later: the proxies pace
//               alone at their share meanwhile. Judged like kill, and on
//               429s; the throughput is reported.
//
//   node e2e/bench/run.mjs --only team
import { chromium } from '@playwright/test';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM_ARGS, CHROMIUM_PATH, text, waitForState } from './drive.mjs';
import { maxInWindow, quantile } from './figures.mjs';
import { readLog, startEmulator } from './emulator.mjs';

export const TEAM_TARGETS = { ratio: 0.97, pct429: 1, busiest: 11 };
const RATE = 10;
const BURST = 1;
const LATENCY_MS = 300;

/** The team cells, by id. */
export const TEAM = [
  { id: 'team-2proxies-r10', proxies: 2, images: 200 },
  { id: 'team-4proxies-r10', proxies: 4, images: 200 },
  { id: 'team-kill-2proxies-r10', proxies: 2, images: 200, fault: 'kill' },
  { id: 'team-kill-4proxies-r10', proxies: 4, images: 200, fault: 'kill' },
  { id: 'team-redis-2proxies-r10', proxies: 2, images: 200, fault: 'redis' },
  { id: 'team-redis-4proxies-r10', proxies: 4, images: 200, fault: 'redis' },
];

/** How long a killed proxy stays away, and Redis. */
const KILL_GAP_MS = 1500;
const REDIS_GAP_MS = 2000;

const freePort = () => new Promise((ok, fail) => {
  const s = createServer();
  s.once('error', fail);
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
});

/** Spawns `binary args` and waits for a stdout line matching `ready`. */
function spawnReady(binary, args, ready, what) {
  const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const started = new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${what} did not start: ${out}`)), 15_000);
    const check = () => { const m = out.match(ready); if (m) { clearTimeout(timer); ok(m); } };
    proc.stdout.on('data', (b) => { out += b.toString(); check(); });
    proc.stderr.on('data', (b) => { out += b.toString(); check(); });
    proc.once('error', (e) => { clearTimeout(timer); fail(new Error(`${what}: ${e.message}`)); });
    proc.once('exit', (code) => { clearTimeout(timer); fail(new Error(`${what} exited (${code}): ${out}`)); });
  });
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  };
  return { proc, started, stop, output: () => out };
}

/** Runs one team cell; never throws (an error is returned in the result). */
export async function runTeamCell(cell, { root, dist, rawDir = null, log = () => {} }) {
  const dir = mkdtempSync(join(tmpdir(), `pacer-bench-${cell.id}-`));
  const stops = [];
  const result = { cell };
  let browser;
  try {
    const proxyBin = join(root, 'target', 'release', 'pacer-proxy');
    if (!existsSync(proxyBin)) throw new Error(`build the proxy first: ${proxyBin} is missing`);
    const redisPort = await freePort();
    const startRedis = async () => {
      const redis = spawnReady('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        /Ready to accept connections/, 'redis-server (apt-get install redis-server)');
      stops.push(redis.stop);
      await redis.started;
      return redis;
    };
    let redis = await startRedis();
    const emuLog = join(dir, 'access.jsonl');
    const emu = await startEmulator({
      binary: join(root, 'target', 'release', 'pacer-emulator'), dist, logPath: emuLog,
      args: ['--limiter', 'gcra', '--limit', String(RATE), '--burst', String(BURST), '--latency-ms', String(LATENCY_MS)],
    });
    stops.push(() => emu.stop());
    const proxies = [];
    const startProxy = async (p, port = 0) => {
      const logPath = join(dir, `proxy-${p}.jsonl`);
      const proxy = spawnReady(proxyBin, ['--port', String(port), '--dist', dist, '--access-log', logPath, '--to', emu.http,
        '--budget', `redis://127.0.0.1:${redisPort}`, '--budget-rate', String(RATE)], /listening on (http:\/\/\S+)/, 'pacer-proxy');
      stops.push(proxy.stop);
      const [, url] = await proxy.started;
      return { url: url.replace(/\/$/, ''), logPath, stop: proxy.stop };
    };
    for (let p = 0; p < cell.proxies; p++) proxies.push(await startProxy(p));
    browser = await chromium.launch({ headless: true, executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    result.browserVersion = browser.version();
    const perPage = Math.ceil(cell.images / cell.proxies);
    const pages = [];
    for (let p = 0; p < cell.proxies; p++) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
      const page = await context.newPage();
      const qs = new URLSearchParams({ endpoint: proxies[p].url, rate: String(RATE), concurrency: '6', attempts: '8', timeout: '30' });
      await page.goto(`${proxies[p].url}/?${qs}`);
      await waitForState(page, 'idle', 15_000);
      await page.getByTestId('client-key').fill('team-bench-key');
      const urls = Array.from({ length: perPage }, (_, i) =>
        `${emu.http}/samples/img-${String((i % 40) + 1).padStart(4, '0')}.jpg?page=${p}&n=${i}`);
      await page.getByTestId('urls').fill(urls.join('\n'));
      pages.push(page);
    }
    log(`${cell.proxies} proxies, ${cell.proxies} pages × ${perPage} images, each page at ${RATE}/s`);
    await Promise.all(pages.map((page) => page.getByTestId('start').click()));
    const timeout = (cell.proxies * perPage / RATE) * 3000 + 60_000;
    const finished = Promise.all(pages.map((page) => waitForState(page, 'done', timeout)));
    if (cell.fault) {
      const third = Math.floor((perPage * cell.proxies) / 3);
      while (readLog(emuLog).length < third) await new Promise((r) => setTimeout(r, 100));
      if (cell.fault === 'kill') {
        const last = proxies.length - 1;
        const port = new URL(proxies[last].url).port;
        await proxies[last].stop();
        log(`proxy ${last} killed; back on port ${port} in ${KILL_GAP_MS} ms`);
        await new Promise((r) => setTimeout(r, KILL_GAP_MS));
        proxies[last] = await startProxy(last, Number(port));
      } else {
        await redis.stop();
        log(`Redis killed; restarted empty in ${REDIS_GAP_MS} ms`);
        await new Promise((r) => setTimeout(r, REDIS_GAP_MS));
        redis = await startRedis();
      }
    }
    await finished;
    result.done = 0;
    for (const page of pages) result.done += Number(await text(page, 'stat-done'));
    await new Promise((r) => setTimeout(r, 300)); // the last log lines
    const up = readLog(emuLog);
    const good = up.filter((l) => l.status === 200 && l.fault !== 'bad-json');
    const first = Math.min(...up.map((l) => l.arrival_ms));
    const last = Math.max(...good.map((l) => l.end_ms));
    const proxyLines = proxies.flatMap((p) => readLog(p.logPath));
    const held = proxyLines.map((l) => l.hold_ms).filter((h) => typeof h === 'number');
    if (rawDir) {
      // --keep-raw: the upstream's and the proxies' logs, for a look at each page's sends.
      const out = join(rawDir, cell.id);
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'upstream.jsonl'), up.map((l) => JSON.stringify(l)).join('\n'));
      writeFileSync(join(out, 'proxies.jsonl'), proxyLines.map((l) => JSON.stringify(l)).join('\n'));
    }
    result.figures = {
      images: perPage * cell.proxies,
      requests: up.length,
      good: new Set(good.map((l) => l.image)).size,
      ratio: good.length / ((last - first) / 1000) / RATE,
      pct429: (100 * up.filter((l) => l.status === 429).length) / up.length,
      busiest: maxInWindow(up.map((l) => l.arrival_ms), 1000),
      holdP50: quantile(held, 0.5),
      holdP99: quantile(held, 0.99),
      local: proxyLines.filter((l) => l.budget === 'local').length,
      fault: cell.fault ?? null,
    };
    // What a page shows behind the proxy: the team line, and latency figures without the hold.
    result.figures.pageLatencyP50 = Number(await text(pages[0], 'stat-latency-p50'));
    result.figures.teamLine = (await pages[0].getByTestId('team-budget').textContent().catch(() => '')) ?? '';
  } catch (e) {
    result.error = String(e?.message ?? e).split('\n')[0];
  } finally {
    await browser?.close().catch(() => {});
    for (const stop of stops.reverse()) await stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

/** Whether a cell met the targets, and why not. */
export function teamVerdict(f) {
  const why = [];
  // Under a fault the targets are no second over limit + burst and every image answered:
  // a killed proxy's page waits out the gap and its retries, and while Redis is away the proxies
  // pace alone at their share, each losing the slots its own queue leaves empty. Their
  // throughput is reported, not judged.
  if (!f.fault && f.ratio < TEAM_TARGETS.ratio) why.push(`together ${f.ratio.toFixed(3)} < ${TEAM_TARGETS.ratio}`);
  if (f.fault !== 'kill' && f.pct429 > TEAM_TARGETS.pct429) why.push(`429s ${f.pct429.toFixed(2)} % > ${TEAM_TARGETS.pct429} %`);
  if (f.busiest > TEAM_TARGETS.busiest) why.push(`busiest second ${f.busiest} > ${TEAM_TARGETS.busiest}`);
  if (f.good !== f.images) why.push(`${f.good} of ${f.images} images answered`);
  return why.length ? `✗ ${why.join('; ')}` : '✓';
}

/** The team cells as a markdown table. */
export function teamMarkdown(results) {
  const lines = [
    `Strict GCRA ${RATE}/s burst ${BURST}, ${LATENCY_MS} ms latency; one page per proxy, each at ${RATE}/s; one Redis.`,
    '',
    'Fault cells: `kill` kills the last proxy a third of the way through and restarts it 1.5 s later (throughput and 429s reported, not judged);',
    '`redis` kills Redis and restarts it empty 2 s later (the proxies pace alone meanwhile: "local" counts their decisions; throughput reported, 429s judged).',
    'Both are judged on what the fault must not cost: no second over limit + burst, every image answered.',
    '',
    '| cell | images | requests | together / limit | 429s | busiest second | hold p50 | hold p99 | local | page p50 | verdict |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    if (r.error || !r.figures) { lines.push(`| ${r.cell.id} | failed: ${r.error ?? '?'} |||||||||| ✗ |`); continue; }
    const f = r.figures;
    lines.push(`| ${r.cell.id} | ${f.images} | ${f.requests} | ${f.ratio.toFixed(3)} | ${f.pct429.toFixed(2)} % | ${f.busiest} | `
      + `${f.holdP50.toFixed(0)} ms | ${f.holdP99.toFixed(0)} ms | ${f.local ?? 0} | ${(f.pageLatencyP50 ?? NaN).toFixed(0)} ms | ${teamVerdict(f)} |`);
  }
  return lines.join('\n');
}
