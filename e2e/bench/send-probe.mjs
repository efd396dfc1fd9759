// Why the tabs' sends go from the timer worker: how late, and
// how unevenly, a request planned for an instant reaches the server when
// the page's main thread sends it or a worker does, with the page busy or
// not. N tabs of one context send 200 requests at exactly 10/s between them
// (HTTPS, HTTP/2) to an emulator without a limiter; the access log gives
// each arrival.
//
//   node e2e/bench/send-probe.mjs [page|worker] [tabs=3] [bursty|heavy|idle]
//
// Prints, in ms: the send's lateness after its instant, send → arrival,
// instant → arrival, J (max − min of instant → arrival), and how many
// consecutive arrivals came under 95/90/80 ms apart (each would be a 429
// against a strict burst-0 limit at 10/s). Needs the release emulator
// (cargo build --release -p pacer-emulator).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './drive.mjs';
import { startEmulator } from './emulator.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const [from = 'worker', tabsArg = '3', busy = 'bursty'] = process.argv.slice(2);
const tabs = Number(tabsArg);
const N = 200;
const SPACING_MS = 100;

const emu = await startEmulator({
  binary: join(here, '..', '..', 'target', 'release', 'pacer-emulator'),
  dist: join(here, 'send-probe'),
  logPath: join(mkdtempSync(join(tmpdir(), 'send-probe-')), 'access.jsonl'),
  args: ['--limiter', 'none', '--latency-ms', '1000'],
});
const browser = await chromium.launch({ headless: true, executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
let outs;
const t0 = Date.now() + 1500;
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const pages = [];
  for (let t = 0; t < tabs; t++) {
    const page = await context.newPage();
    await page.goto(`${emu.https}/`);
    await page.evaluate((how) => window.busy(how), busy);
    pages.push(page);
  }
  const plans = pages.map(() => []);
  for (let k = 0; k < N; k++) {
    const image = encodeURIComponent(`${emu.https}/samples/img-0001.jpg?k=${k}`);
    plans[k % tabs].push({ at: t0 + k * SPACING_MS, url: `${emu.https}/vision/v2/multipredict?client_key=probe&model_id=re_roomtype_global_v2&image_url=${image}` });
  }
  outs = (await Promise.all(pages.map((p, t) => p.evaluate(([f, plan]) => window.send(f, plan), [from, plans[t]])))).flat();
} finally {
  await browser.close();
  await emu.stop();
}

const kOf = (s) => Number(/k=(\d+)/.exec(decodeURIComponent(s))?.[1]);
const arrival = new Map(emu.log().filter((l) => l.method === 'GET').map((l) => [kOf(l.image), l.arrival_ms]));
const sent = new Map(outs.map((o) => [kOf(o.url), o.sent]));
const late = [], net = [], total = [];
for (let k = 0; k < N; k++) {
  const at = t0 + k * SPACING_MS;
  const a = arrival.get(k);
  const s = sent.get(k);
  if (a === undefined || s === undefined) continue;
  late.push(s - at); net.push(a - s); total.push(a - at);
}
const q = (xs, p) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const row = (xs) => `p50 ${q(xs, 0.5).toFixed(1)}  p95 ${q(xs, 0.95).toFixed(1)}  p99 ${q(xs, 0.99).toFixed(1)}  max ${Math.max(...xs).toFixed(1)}`;
const arrivals = [...arrival.values()].sort((a, b) => a - b);
const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]);
console.log(`sent from the ${from}, ${tabs} tab(s), page ${busy}: ${total.length} of ${N} matched`);
console.log(`  late after the instant  ${row(late)}`);
console.log(`  send → arrival          ${row(net)}`);
console.log(`  instant → arrival       ${row(total)}  J ${(Math.max(...total) - Math.min(...total)).toFixed(1)}`);
console.log(`  arrivals closer than 95 / 90 / 80 ms: ${[95, 90, 80].map((g) => gaps.filter((x) => x < g).length).join(' / ')}`);
