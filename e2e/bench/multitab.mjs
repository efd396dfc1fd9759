// Drives the multi-tab cells (tabs sharing one budget, and the handover): two or three pages
// of one headless Chromium (one context, so one origin's BroadcastChannel
// and Web Locks) run against one emulator; each tab's image URLs carry
// `?tab=T&n=I`, so the access log tells the tabs apart. A handover cell
// closes the leading tab (the one that made the latest grant) mid-run,
// like a user closing it.
import { chromium } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH, exportJson, text, waitForState } from './drive.mjs';

/**
 * Runs `tabs` pages of `images` sample images each at `rate`/`concurrency`
 * against `origin`; with `closeLeaderAfterMs`, closes the leading tab that
 * long after the last start. Returns what the pages showed, each open
 * tab's JSON export (`tabs[t].export`, as drivePage's; saved in
 * `downloadDir` as `tab<T>-pacer-results.json`; a closed tab has none), the
 * close's instant (unix ms) and which tab led. Never throws for a run that
 * goes wrong after the start: the error is returned beside what was read.
 */
export async function driveTabs({ origin, rate, concurrency, images, tabs, closeLeaderAfterMs, timeoutMs, downloadDir }) {
  const browser = await chromium.launch({ headless: true, executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  const result = { browserVersion: browser.version(), errors: [], consoleErrors: [], tabs: [] };
  try {
    const context = await browser.newContext({ acceptDownloads: true, ignoreHTTPSErrors: true, viewport: { width: 1400, height: 1000 } });
    const pages = [];
    for (let t = 0; t < tabs; t++) {
      const page = await context.newPage();
      page.on('console', (m) => { if (m.type() === 'error') result.consoleErrors.push(`tab ${t}: ${m.text()}`); });
      page.on('pageerror', (e) => result.consoleErrors.push(`tab ${t}: ${e}`));
      // The shared budget's diagnostics (src/browser/tabs.rs trace_to_page):
      // which tab grants, for the handover cells.
      await page.addInitScript(() => { globalThis.__pacerTabTrace = []; });
      const qs = new URLSearchParams({ endpoint: origin, rate: String(rate), concurrency: String(concurrency) });
      await page.goto(`${origin}/?${qs}`);
      await waitForState(page, 'idle', 15_000);
      const urls = Array.from({ length: images }, (_, i) =>
        `${origin}/samples/img-${String((i % 40) + 1).padStart(4, '0')}.jpg?tab=${t}&n=${i}`);
      await page.getByTestId('urls').fill(urls.join('\n'));
      pages.push(page);
    }
    const t0 = Date.now();
    for (const page of pages) await page.getByTestId('start').click();
    const open = [...pages.keys()];
    if (closeLeaderAfterMs) {
      await pages[0].waitForTimeout(Math.max(0, t0 + closeLeaderAfterMs - Date.now()));
      // The leader is the tab that made the latest grant (its trace): its
      // notice may no longer say so (a newer one, e.g. the limit the server
      // announced, takes its place).
      let latest = -Infinity;
      for (let t = 0; t < tabs; t++) {
        const granted = await pages[t].evaluate(() =>
          (globalThis.__pacerTabTrace ?? []).filter((e) => e.kind === 'granted').at(-1)?.now ?? null);
        if (granted !== null && granted > latest) { latest = granted; result.leader = t; }
      }
      if (result.leader === undefined) result.errors.push('no tab said it leads');
      else {
        result.closedAt = Date.now();
        await pages[result.leader].close({ runBeforeUnload: true });
        open.splice(open.indexOf(result.leader), 1);
      }
    }
    for (const t of open) {
      try {
        await waitForState(pages[t], 'done', Math.max(10_000, timeoutMs - (Date.now() - t0)));
      } catch {
        result.errors.push(`tab ${t} did not reach done within ${Math.round(timeoutMs / 1000)} s`);
      }
    }
    result.wallMs = Date.now() - t0;
    for (let t = 0; t < tabs; t++) {
      if (!open.includes(t)) { result.tabs.push({ closed: true }); continue; }
      const stat = async (id) => Number(await text(pages[t], id));
      const tab = {
        state: await text(pages[t], 'run-state'),
        done: await stat('stat-done'),
        failed: await stat('stat-failed'),
        n429: await stat('stat-429'),
        notice: (await pages[t].getByTestId('notice').allTextContents()).join(' | ').trim(),
      };
      // Every tab's send stamps, for J (figures.mjs): tabs share a download folder, so each names its file.
      const errors = [];
      tab.export = await exportJson(pages[t], downloadDir, errors, `tab${t}-pacer-results.json`);
      result.errors.push(...errors.map((e) => `tab ${t}: ${e}`));
      result.tabs.push(tab);
    }
    result.state = result.tabs.filter((x) => !x.closed).every((x) => x.state === 'done') ? 'done' : 'unfinished';
    await context.close();
  } catch (e) {
    result.errors.push(String(e?.message ?? e).split('\n')[0]);
  } finally {
    await browser.close();
  }
  return result;
}
