// A very long run, measured: N URLs (a million by default) pasted into the
// URL box as a user would, sent at 250/s against the emulator (50 ms
// latency), with the page's memory (JS heap + array buffers, the wasm
// memory among them) sampled over CDP all along; a reload part-way that
// must show the saved run again (and resume it) quickly while the page
// keeps drawing frames; then both exports, timed, with the memory after
// each. The memory target is the peak of `Runtime.getHeapUsage`'s used
// heap plus its backing stores (ArrayBuffers) plus the wasm memory, which
// `backingStorageSize` does not count (and which never shrinks, so its
// size is its own peak).
//
//   PACER_MILLION_N=100000 node e2e/bench/million.mjs [--rate R] [--latency MS] [--reload-at F] [--dist DIR]
//   node e2e/bench/run.mjs --only million      (the same, as a bench cell; PACER_MILLION_N too)
//
// A million at 250/s is over an hour: PACER_MILLION_N picks a size that
// shows the trend (memory per item is what grows).
import { chromium } from '@playwright/test';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './drive.mjs';
import { startEmulator } from './emulator.mjs';

export const MILLION = { memoryMB: 300, resumeMs: 5000 };

/** The cell's size: PACER_MILLION_N, else a million. */
export function millionItems() {
  const n = Number(process.env.PACER_MILLION_N ?? 1_000_000);
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : 1_000_000;
}

const MB = 2 ** 20;

/**
 * Memory of the page now: JS heap used, backing stores, and their sum
 * (MB); with `gc`, after a full collection (what is live, not what
 * waits to be collected).
 */
async function memory(cdp, gc = false) {
  if (gc) await cdp.send('HeapProfiler.collectGarbage');
  const h = await cdp.send('Runtime.getHeapUsage');
  const heapMB = h.usedSize / MB;
  const buffersMB = (h.backingStorageSize ?? 0) / MB;
  return { heapMB, buffersMB, totalMB: heapMB + buffersMB };
}

/** Frame and long-task watcher, installed before the page's own scripts. */
function watchFrames() {
  // Trunk's loader hands the wasm exports over in this event: their
  // memory is the wasm heap (its ArrayBuffer is sampled on its own).
  addEventListener('TrunkApplicationStarted', (e) => { window.__wasmMemory = e.detail?.wasm?.memory; });
  window.__frames = { gaps: [], longTasks: [], last: performance.now() };
  const tick = (now) => {
    window.__frames.gaps.push([now, now - window.__frames.last]);
    window.__frames.last = now;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__frames.longTasks.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  } catch { /* no long-task timing: frame gaps still tell */ }
}

const state = (page) => page.evaluate(() => document.querySelector('[data-testid="run-state"]')?.textContent?.trim() ?? '');
const stat = async (page, id) => Number(await page.evaluate((id) => document.querySelector(`[data-testid="${id}"]`)?.textContent ?? 'NaN', id));

/**
 * Requests answered 200 in the access log, and images answered 200 more
 * than once (an answer the page lost and sent again), with the first
 * such second answer's arrival (ms since the Unix epoch). Read line by
 * line with a regular expression: a million JSON parses at once would
 * hold the whole log as objects.
 */
function answeredTwice(text) {
  const seen = new Set();
  let answered = 0, twice = 0, firstTwiceMs = null;
  const line = /"arrival_ms":([\d.]+).*?"image":"([^"]*)".*?"status":(\d+)/g;
  for (const m of text.matchAll(line)) {
    if (m[3] !== '200') continue;
    answered++;
    if (seen.has(m[2])) { twice++; firstTwiceMs = Math.min(firstTwiceMs ?? Infinity, Number(m[1])); } else seen.add(m[2]);
  }
  return { answered, twice, firstTwiceMs };
}

/**
 * Items kept as done in the page's IndexedDB (every run's), read in
 * batches of 2 000 with getAll (a cursor's round trip per item takes
 * minutes on a busy machine at this size); NaN if it takes over 60 s.
 */
const storedDone = (page) => page.evaluate(() => Promise.race([
  new Promise((ok) => setTimeout(() => ok(NaN), 60_000)),
  new Promise((ok) => {
    const open = indexedDB.open('pacer');
    open.onerror = () => ok(NaN);
    open.onsuccess = () => {
      const db = open.result;
      let done = 0;
      const next = (after) => {
        const store = db.transaction('run_items').objectStore('run_items');
        const range = after === undefined ? null : IDBKeyRange.lowerBound(after, true);
        const keys = store.getAllKeys(range, 2000);
        const values = store.getAll(range, 2000);
        values.onerror = () => { db.close(); ok(NaN); };
        values.onsuccess = () => {
          for (const v of values.result) if (typeof v === 'string' && v.includes('"state":"done"')) done++;
          if (values.result.length < 2000) { db.close(); ok(done); return; }
          next(keys.result[keys.result.length - 1]);
        };
      };
      next(undefined);
    };
  }),
]));

/** `n` distinct URLs of `origin`'s sample images. */
function urls(origin, n) {
  const parts = new Array(n);
  for (let i = 0; i < n; i++) parts[i] = `${origin}/samples/img-${String((i % 9999) + 1).padStart(4, '0')}.jpg?n=${i}`;
  return parts.join('\n');
}

/** Clicks `testid` and waits for its download: ms taken and the file's size. */
async function timedExport(page, cdp, testid, dir) {
  const t0 = Date.now();
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 600_000 }), page.getByTestId(testid).click()]);
  const ms = Date.now() - t0;
  const path = join(dir, download.suggestedFilename());
  await download.saveAs(path);
  const mem = await memory(cdp);
  return { ms, sizeMB: statSync(path).size / MB, after: mem };
}

export async function runMillion({
  binary, dist, items = millionItems(), rate = 250, latencyMs = 50, concurrency = 32,
  reloadAt = 0.5, sampleMs = 2000, log = console.log,
}) {
  const dir = mkdtempSync(join(tmpdir(), 'pacer-million-'));
  const out = { items, rate, latencyMs, concurrency, samples: [], targets: MILLION };
  const logPath = join(dir, 'access.jsonl');
  const emu = await startEmulator({
    binary, dist, logPath, args: ['--limiter', 'none', '--latency-ms', String(latencyMs)],
  });
  const browser = await chromium.launch({ headless: true, executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  let peak = { totalMB: 0 };
  const t0 = Date.now();
  const sample = async (cdp, page, phase, gc = false) => {
    const m = await memory(cdp, gc);
    const wasmMB = await page.evaluate(() => (window.__wasmMemory?.buffer?.byteLength ?? NaN) / 2 ** 20).catch(() => NaN);
    // `backingStorageSize` leaves the wasm memory out (measured: 2.9 MB
    // of buffers beside a 143 MB wasm memory), so it is added here.
    const total = m.totalMB + (Number.isFinite(wasmMB) ? wasmMB : 0);
    const s = { t: (Date.now() - t0) / 1000, phase, gc, done: await stat(page, 'stat-done').catch(() => NaN), wasmMB, ...m, totalMB: total };
    out.samples.push(s);
    if (s.totalMB > peak.totalMB) peak = s;
    return s;
  };
  try {
    out.browser = browser.version();
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } });
    await context.addInitScript(watchFrames);
    const page = await context.newPage();
    let cdp = await context.newCDPSession(page);
    await page.goto(`${emu.https}/?rate=${rate}&concurrency=${concurrency}&models=re_roomtype_global_v2`);
    await page.getByTestId('run-state').waitFor();
    await sample(cdp, page, 'loaded');

    // Pasted, as from the clipboard: the page's own paste handler takes it.
    const text = urls(emu.https, items);
    const p0 = Date.now();
    await page.evaluate(([text, n]) => {
      const box = document.querySelector('[data-testid="urls"]');
      box.focus();
      const data = new DataTransfer();
      data.setData('text/plain', text);
      const taken = !box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
      // A short list is left to the browser's own insertion, which an
      // untrusted paste event does not make: typed in instead.
      if (!taken) {
        box.value = text;
        box.dispatchEvent(new Event('input', { bubbles: true }));
      }
    }, [text, items]);
    await page.waitForFunction((n) => (document.querySelector('.source-summary')?.textContent ?? '').replace(/\D+valid.*/, '') === String(n),
      items, { timeout: 120_000, polling: 100 });
    out.pasteMs = Date.now() - p0;
    log(`pasted ${items} URLs: counted in ${out.pasteMs} ms; ${JSON.stringify(await sample(cdp, page, 'pasted'))}`);

    await page.getByTestId('start').click();
    const runT0 = Date.now();
    const reloadDone = Math.floor(items * reloadAt);
    let reloaded = !(reloadAt > 0 && reloadAt < 1);
    let lastLog = 0;
    for (;;) {
      await page.waitForTimeout(sampleMs);
      const s = await sample(cdp, page, reloaded ? 'resumed' : 'running');
      const st = await state(page);
      if (Date.now() - lastLog > 30_000) {
        lastLog = Date.now();
        log(`  ${s.t.toFixed(0)} s: ${st}, ${s.done} done, heap ${s.heapMB.toFixed(1)} + buffers ${s.buffersMB.toFixed(1)} + wasm ${s.wasmMB.toFixed(1)} = ${s.totalMB.toFixed(1)} MB`);
      }
      if (st === 'done') break;
      // The reload goes when the access log (ground truth: the page's
      // figures can trail it by seconds on a busy machine) has about
      // `reloadAt` of the items answered; lines are ~230 bytes.
      const answeredEstimate = statSync(logPath).size / 230;
      if (!reloaded && answeredEstimate >= reloadDone) {
        reloaded = true;
        // Nothing read from the page's storage first: that read takes
        // seconds at this size, and the run would go on meanwhile.
        out.reload = { atDone: s.done, answeredEstimate: Math.round(answeredEstimate), beforeMB: s.totalMB };
        const r0 = Date.now();
        out.reload.atMs = r0;
        await page.reload({ waitUntil: 'commit' });
        cdp = await context.newCDPSession(page);
        await page.waitForFunction(() => ['interrupted', 'done'].includes(document.querySelector('[data-testid="run-state"]')?.textContent?.trim()),
          null, { timeout: 120_000, polling: 50 });
        out.reload.shownMs = Date.now() - r0;
        out.reload.shownState = await state(page);
        // Frames and long tasks from the navigation until the run showed.
        out.reload.frames = await page.evaluate(() => {
          const gaps = window.__frames.gaps.map(([, g]) => g).slice(1);
          const long = window.__frames.longTasks.map(([, d]) => d);
          return { frames: gaps.length, maxGapMs: Math.max(0, ...gaps), longTasks: long.length, maxLongTaskMs: Math.max(0, ...long), longTaskMs: long.reduce((a, b) => a + b, 0) };
        });
        out.reload.shown = await sample(cdp, page, 'reloaded');
        out.reload.shownQueued = await stat(page, 'stat-queued');
        out.reload.storedAfter = await storedDone(page);
        if (out.reload.shownState === 'done') {
          out.error = 'every item was answered before the reload: nothing to resume (lower --reload-at)';
          break;
        }
        const k0 = Date.now();
        await page.evaluate(() => { window.__frames.gaps = []; window.__frames.longTasks = []; });
        await page.getByTestId('resume').click();
        await page.waitForFunction(() => document.querySelector('[data-testid="run-state"]')?.textContent?.trim() === 'running',
          null, { timeout: 120_000, polling: 50 });
        out.reload.resumeMs = Date.now() - k0;
        out.reload.resumeFrames = await page.evaluate(() => {
          const gaps = window.__frames.gaps.map(([, g]) => g).slice(1);
          const long = window.__frames.longTasks.map(([, d]) => d);
          return { maxGapMs: Math.max(0, ...gaps), maxLongTaskMs: Math.max(0, ...long) };
        });
        out.reload.totalMs = out.reload.shownMs + out.reload.resumeMs;
        log(`  reload at ${out.reload.atDone} done (~${out.reload.answeredEstimate} answered in the log; ${out.reload.storedAfter} stored as done after it): shown in ${out.reload.shownMs} ms (longest task ${out.reload.frames.maxLongTaskMs.toFixed(0)} ms, ` +
          `longest frame gap ${out.reload.frames.maxGapMs.toFixed(0)} ms), running again ${out.reload.resumeMs} ms after Resume ` +
          `(longest task ${out.reload.resumeFrames.maxLongTaskMs.toFixed(0)} ms)`);
      }
      if (Date.now() - runT0 > Math.max(600_000, (items / rate) * 3000)) { out.error = `not done after ${((Date.now() - runT0) / 1000).toFixed(0)} s`; break; }
    }
    out.runS = (Date.now() - runT0) / 1000;
    out.done = await stat(page, 'stat-done');
    out.failed = await stat(page, 'stat-failed');
    out.throughput = await stat(page, 'stat-throughput');
    out.afterRun = await sample(cdp, page, 'done');
    out.log = answeredTwice(readFileSync(logPath, 'utf8'));
    out.afterRunLive = await sample(cdp, page, 'done', true);
    log(`run: ${out.done} done, ${out.failed} failed in ${out.runS.toFixed(0)} s, the page says ${out.throughput}/s; ${JSON.stringify(out.afterRun)}`);
    for (const [name, id] of [['csv', 'export-csv'], ['json', 'export-json']]) {
      out[name] = await timedExport(page, cdp, id, dir);
      const s = await sample(cdp, page, `export-${name}`);
      out[name].live = await sample(cdp, page, `export-${name}`, true);
      log(`export ${name}: ${out[name].ms} ms, ${out[name].sizeMB.toFixed(1)} MB; memory after ${s.totalMB.toFixed(1)} MB`);
    }
    out.sentInLog = out.log.answered;
    await context.close();
  } catch (e) {
    out.error = String(e?.message ?? e).split('\n')[0];
  } finally {
    await browser.close();
    await emu.stop();
    if (process.env.PACER_MILLION_KEEP) log(`kept ${dir}`); else rmSync(dir, { recursive: true, force: true });
  }
  out.peak = peak;
  out.verdicts = {
    done: out.done === items,
    memory: peak.totalMB < MILLION.memoryMB,
    resume: (out.reload?.totalMs ?? Infinity) < MILLION.resumeMs,
    // A reload may cut off at most the requests on the wire.
    onceEach: (out.log?.twice ?? Infinity) <= concurrency,
  };
  return out;
}

/** The cell's figures as a markdown table. */
export function millionMarkdown(m) {
  const v = (ok) => (ok ? 'PASS' : 'FAIL');
  if (m.error && !m.peak) return `failed: ${m.error}`;
  const r = m.reload;
  return [
    `${m.items} URLs pasted, ${m.rate}/s asked, ${m.latencyMs} ms latency, concurrency ${m.concurrency}${m.error ? ` (⚠ ${m.error})` : ''}`,
    '',
    '| figure | measured | target | verdict |',
    '|---|---|---|---|',
    `| run | ${m.done} done, ${m.failed} failed in ${m.runS?.toFixed(0)} s (${m.throughput}/s; ${m.sentInLog} answered 200 in the log) | all done | ${v(m.verdicts.done)} |`,
    `| memory peak (JS heap + array buffers + wasm memory) | ${m.peak.totalMB.toFixed(1)} MB (${m.peak.heapMB.toFixed(1)} + ${m.peak.buffersMB.toFixed(1)} + ${m.peak.wasmMB?.toFixed(1)}) at ${m.peak.phase}, ${m.peak.done} done | < ${m.targets.memoryMB} MB | ${v(m.verdicts.memory)} |`,
    `| paste | counted in ${m.pasteMs} ms | reported | |`,
    r ? `| reload at ${r.atDone} done (${r.storedAfter} stored as done after it) | shown in ${r.shownMs} ms + running ${r.resumeMs} ms after Resume = ${r.totalMs} ms; longest task ${r.frames?.maxLongTaskMs?.toFixed(0)} ms / ${r.resumeFrames?.maxLongTaskMs?.toFixed(0)} ms | < ${m.targets.resumeMs} ms | ${v(m.verdicts.resume)} |` : '| reload | not tried | | |',
    m.log ? `| images answered 200 twice (access log) | ${m.log.twice} | 0 after a reload, but for requests cut off on the wire | ${m.log.twice <= m.concurrency ? 'PASS' : 'FAIL'} |` : '',
    m.csv ? `| CSV export | ${m.csv.ms} ms, ${m.csv.sizeMB.toFixed(1)} MB; memory after ${m.csv.after.totalMB.toFixed(1)} MB | reported | |` : '',
    m.json ? `| JSON export | ${m.json.ms} ms, ${m.json.sizeMB.toFixed(1)} MB; memory after ${m.json.after.totalMB.toFixed(1)} MB | reported | |` : '',
  ].filter(Boolean).join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name, d) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : d; };
  const root = join(new URL('.', import.meta.url).pathname, '..', '..');
  const m = await runMillion({
    binary: join(root, 'target', 'release', 'pacer-emulator'), dist: arg('--dist', join(root, 'dist')),
    rate: Number(arg('--rate', 250)), latencyMs: Number(arg('--latency', 50)), reloadAt: Number(arg('--reload-at', 0.5)),
    concurrency: Number(arg('--concurrency', 32)),
  });
  console.log('\n' + millionMarkdown(m));
  console.log(JSON.stringify({ ...m, samples: m.samples.map((s) => [s.t, s.phase, s.done, +s.totalMB.toFixed(1)]) }));
}
