// Drives one run of the page in a fresh headless Chromium through the
// data-testid interface (docs/ARCHITECTURE.md, "The page's test interface"): open, load samples, start, wait for
// `done`, read the stats, export the JSON. `drivePage` uses Playwright;
// `driveHiddenPage` hides the tab for part of the run, so it launches
// Chromium itself and drives it over raw CDP (support/hidden-tab.mjs).
import { chromium } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HiddenTab } from '../support/hidden-tab.mjs';

/** The launch flags of e2e/playwright.config.ts (keep in step with it). */
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
  '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--ignore-certificate-errors',
];
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const STATS = ['stat-done', 'stat-failed', 'stat-queued', 'stat-429',
  'stat-throughput', 'stat-latency-avg', 'stat-latency-p95'];
/** Read when the build has them (NaN otherwise): sends, and sends that were retries. */
const OPTIONAL_STATS = ['stat-sent', 'stat-retries'];

/**
 * Runs `images` sample images at `rate`/`concurrency` against `origin` and
 * returns what the page showed and exported. Never throws for a run that
 * goes wrong after the start: the error is returned beside what was read.
 */
export async function drivePage({ origin, rate, query = {}, concurrency, images, timeoutMs, downloadDir }) {
  const browser = await chromium.launch({ headless: true, executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  const result = { browserVersion: browser.version(), errors: [], consoleErrors: [] };
  try {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') result.consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => result.consoleErrors.push(String(e)));
    const id = (t) => page.getByTestId(t);

    const extra = Object.entries(query).map(([k, v]) => `&${k}=${encodeURIComponent(v)}`).join('');
    await page.goto(`${origin}/?rate=${rate}&concurrency=${concurrency}${extra}`);
    await waitForState(page, 'idle', 15_000);
    // Room for every request's resource timing (the default buffer keeps 250), for `protocols`.
    await page.evaluate((n) => performance.setResourceTimingBufferSize(n), images * 3 + 100);
    result.endpoint = await id('endpoint').inputValue();
    await id('sample-count').fill(String(images));
    await id('load-samples').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="start"]')?.disabled === false,
      null, { timeout: 10_000 });

    const t0 = Date.now();
    await id('start').click();
    try {
      await waitForState(page, 'done', timeoutMs);
    } catch (e) {
      result.errors.push(`run did not reach done within ${Math.round(timeoutMs / 1000)} s (state ${await text(page, 'run-state')})`);
    }
    result.wallMs = Date.now() - t0;
    result.state = await text(page, 'run-state');
    result.stats = {};
    for (const s of STATS) result.stats[s] = Number(await text(page, s));
    for (const s of OPTIONAL_STATS) result.stats[s] = (await page.getByTestId(s).count()) ? Number(await text(page, s)) : NaN;
    result.notice = (await page.getByTestId('notice').allTextContents()).join(' | ').trim();
    result.protocols = await page.evaluate(() => {
      const seen = {};
      for (const e of performance.getEntriesByType('resource')) {
        if (e.name.includes('/vision/v2/')) seen[e.nextHopProtocol || '?'] = (seen[e.nextHopProtocol || '?'] ?? 0) + 1;
      }
      return seen;
    });
    result.export = await exportJson(page, downloadDir, result.errors);
    await context.close();
  } catch (e) {
    result.errors.push(String(e?.message ?? e).split('\n')[0]);
  } finally {
    await browser.close();
  }
  return result;
}

export async function text(page, testid) {
  return ((await page.getByTestId(testid).first().textContent({ timeout: 5_000 })) ?? '').trim();
}

/** Waits, polling every 250 ms (light on the page's own timers), for `run-state`. */
export async function waitForState(page, state, timeout) {
  await page.waitForFunction(
    (s) => document.querySelector('[data-testid="run-state"]')?.textContent?.trim() === s,
    state, { timeout, polling: 250 });
}

/**
 * Clicks `export-json` and parses the download, or says why it could not.
 * Saved in `dir` as `name` (default: the page's own file name; pages
 * sharing `dir` need their own names).
 */
export async function exportJson(page, dir, errors, name) {
  const button = page.getByTestId('export-json');
  if ((await button.count()) === 0) { errors.push('no export-json button'); return null; }
  if (await button.isDisabled()) { errors.push('export-json is disabled in this build: no J, no client latency'); return null; }
  try {
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), button.click()]);
    const path = join(dir, name ?? (download.suggestedFilename() || 'pacer-results.json'));
    await download.saveAs(path);
    return { filename: name ?? download.suggestedFilename(), path, data: JSON.parse(readFileSync(path, 'utf8')) };
  } catch (e) {
    errors.push(`export-json failed: ${String(e?.message ?? e).split('\n')[0]}`);
    return null;
  }
}

const sleepUntil = (t) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));

/**
 * Like `drivePage`, but `hideAfterMs` after the start the tab is hidden
 * behind a second tab for `hiddenMs`, then shown again to finish. Proves
 * the hiding with a plain 100 ms setTimeout chain in the page: its rate
 * before hiding, in the first 10 s hidden and over 60 s from 5 min hidden
 * on (when `hiddenMs` allows). Returns drivePage's fields plus `hidden`.
 */
export async function driveHiddenPage({ origin, rate, query = {}, concurrency, images, timeoutMs, downloadDir, hideAfterMs, hiddenMs }) {
  const extra = Object.entries(query).map(([k, v]) => `&${k}=${encodeURIComponent(v)}`).join('');
  const tab = await HiddenTab.open(`${origin}/?rate=${rate}&concurrency=${concurrency}${extra}`);
  const result = { browserVersion: tab.version, errors: [], consoleErrors: tab.consoleErrors, hidden: {} };
  const h = result.hidden;
  try {
    await tab.waitForState('idle', 15_000);
    // Room for every request's resource timing (the default buffer keeps 250), for `protocols`.
    await tab.evaluate(`performance.setResourceTimingBufferSize(${images * 2 + 100})`);
    result.endpoint = await tab.evaluate(`document.querySelector('[data-testid="endpoint"]')?.value ?? ''`);
    await tab.loadSamples(images);
    const t0 = Date.now();
    await tab.start();
    h.plainVisible = await tab.plainTimerRate(Math.min(3_000, hideAfterMs - 1_000));
    await sleepUntil(t0 + hideAfterMs);
    h.hiddenAt = await tab.hide();
    h.plainHidden = await tab.plainTimerRate(10_000);
    const lateFrom = h.hiddenAt + 305_000;
    if (lateFrom + 60_000 <= h.hiddenAt + hiddenMs) {
      await sleepUntil(lateFrom);
      h.plainLate = await tab.plainTimerRate(60_000);
      h.plainLate.fromHiddenS = (lateFrom - h.hiddenAt) / 1000;
    }
    await sleepUntil(h.hiddenAt + hiddenMs);
    h.stateBeforeShow = await tab.runState();
    h.visibilityBeforeShow = await tab.visibility();
    h.shownAt = await tab.show();
    h.visibilityChanges = await tab.visibilityChanges();
    try {
      await tab.waitForState('done', Math.max(30_000, timeoutMs - (Date.now() - t0)));
    } catch {
      result.errors.push(`run did not reach done within ${Math.round(timeoutMs / 1000)} s (state ${await tab.runState()})`);
    }
    result.wallMs = Date.now() - t0;
    result.state = await tab.runState();
    result.stats = await tab.stats();
    result.notice = await tab.notice();
    result.protocols = await tab.evaluate(`(() => { const seen = {};
      for (const e of performance.getEntriesByType('resource')) {
        if (e.name.includes('/vision/v2/')) seen[e.nextHopProtocol || '?'] = (seen[e.nextHopProtocol || '?'] ?? 0) + 1;
      }
      return seen; })()`);
    try {
      if (await tab.isEnabled('export-json')) result.export = await tab.exportJson(downloadDir);
      else result.errors.push('export-json is missing or disabled');
    } catch (e) {
      result.errors.push(`export-json failed: ${String(e?.message ?? e).split('\n')[0]}`);
    }
  } catch (e) {
    result.errors.push(String(e?.message ?? e).split('\n')[0]);
  } finally {
    await tab.close();
  }
  return result;
}
