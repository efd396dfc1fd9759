// Accessibility: every control labelled and keyboard-operable, a live
// region announcing progress, no serious or critical axe-core violation
// (WCAG 2 A/AA) idle, mid-run with a result's details open, paused, after a
// run, with failures, in dark mode and at 360 px wide; the page fits a
// phone and a desktop.
import { test, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { Emulator } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';

let emu: Emulator;

test.beforeAll(async () => {
  emu = await Emulator.start(['--limiter', 'fixed-window', '--limit', '8', '--latency-ms', '300']);
});
test.afterAll(async () => emu?.stop());

const WCAG = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/**
 * Runs axe on the page and prints every violation found (any impact); a
 * serious or critical one fails the test (softly, so that every step of a
 * journey is reported).
 */
async function audit(page: Page, when: string): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).withTags(WCAG).analyze();
  for (const v of violations) {
    console.log(`[${when}] ${v.impact} ${v.id}: ${v.help} (${v.nodes.length} node(s))`);
    for (const n of v.nodes.slice(0, 5)) {
      console.log(`    ${n.target.join(' ')}: ${n.failureSummary?.replace(/\s*\n\s*/g, ' | ')}`);
    }
  }
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect.soft(bad.map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), when)
    .toEqual([]);
}

/** The page never scrolls sideways (a phone's 360 px included). */
async function expectNoSidewaysScroll(page: Page, when: string): Promise<void> {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  expect.soft(scroll, `page width ${when}`).toBeLessThanOrEqual(client);
}

/** idle → mid-run with a result's details open → paused → done → filtered to nothing, audited at each step. */
async function auditJourney(page: Page, label: string): Promise<void> {
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 4, concurrency: 4 });
  await audit(page, `${label}: idle`);
  await expectNoSidewaysScroll(page, `${label}: idle`);
  await pacer.loadSamples(24);
  await pacer.byId('start').click();
  await expect.poll(() => pacer.number('stat-done'), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
  await pacer.byId('result-row').first().click();
  await expect(page.getByRole('complementary', { name: 'Details of item 1' })).toBeVisible();
  await audit(page, `${label}: mid-run, details open`);
  await expectNoSidewaysScroll(page, `${label}: mid-run`);
  await pacer.byId('pause').click();
  await pacer.waitForState('paused', 5_000);
  await audit(page, `${label}: paused`);
  await pacer.byId('resume').click();
  await pacer.waitForState('done', 30_000);
  await audit(page, `${label}: done`);
  await expectNoSidewaysScroll(page, `${label}: done`);
  await page.locator('.results-card').getByRole('button', { name: /^Failed/ }).click();
  await expect(page.getByText('No item matches the filter.')).toBeVisible();
  await audit(page, `${label}: filtered to nothing`);
}

test('no serious or critical axe violation in light mode on a desktop', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'light' });
  await auditJourney(page, 'light 1400px');
});

test('no serious or critical axe violation in dark mode', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await auditJourney(page, 'dark 1400px');
});

test('no serious or critical axe violation at 360 px wide, light and dark', async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 800 });
  await page.emulateMedia({ colorScheme: 'light' });
  await auditJourney(page, 'light 360px');
  await page.emulateMedia({ colorScheme: 'dark' });
  await audit(page, 'dark 360px: done, filtered');
  await page.locator('.results-card').getByRole('button', { name: /^All/ }).click();
  await page.getByTestId('result-row').first().click();
  await audit(page, 'dark 360px: done, details open');
  await expectNoSidewaysScroll(page, 'dark 360px');
});

test('failures, their notice and an invalid line pass axe in both themes', async ({ page }) => {
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 8, concurrency: 4, models: 're_no_such_model' });
  await pacer.byId('urls').fill(`${emu.url}/samples/img-0001.jpg\nnot a url\n${emu.url}/samples/img-0002.jpg`);
  await pacer.byId('start').click();
  await pacer.waitForState('done', 20_000);
  await expect(page.locator('[data-testid="result-row"][data-state="failed"]')).toHaveCount(2);
  await pacer.byId('result-row').first().click();
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await audit(page, `${scheme}: failed items`);
  }
  // A start with nothing to send says so in an error notice.
  await pacer.byId('clear').click();
  await pacer.byId('urls').fill('');
  await pacer.byId('start').click();
  await expect(pacer.byId('notice')).not.toBeEmpty();
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await audit(page, `${scheme}: error notice`);
  }
});

/** The focused element, described for the log: its test id or tag, and its accessible name. */
async function focused(page: Page): Promise<{ testid: string; what: string }> {
  const focus = page.locator(':focus');
  const testid = (await focus.getAttribute('data-testid').catch(() => null)) ?? '';
  const what = await focus.ariaSnapshot().catch(() => '(nothing)');
  return { testid, what: what.split('\n')[0] };
}

/**
 * Asserts the focused element shows a focus ring: a solid outline at least
 * 2 px wide, on itself or (for a field drawn inside a box, or the invisible
 * file input over its drop zone) on the nearest ancestor that draws it.
 */
async function expectFocusVisible(page: Page, what: string): Promise<void> {
  const ring = await page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return { ok: false, why: 'nothing focused' };
    if (!el.matches(':focus-visible')) return { ok: false, why: `${el.tagName} is not :focus-visible` };
    for (let node: HTMLElement | null = el, up = 0; node && up < 4; node = node.parentElement, up++) {
      const style = getComputedStyle(node);
      if (style.opacity === '0') continue;
      if (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) return { ok: true, why: '' };
    }
    return { ok: false, why: `${el.tagName}.${el.className} has no visible outline` };
  });
  expect(ring.ok, `${what}: ${ring.why}`).toBe(true);
}

/** Presses Tab (or Shift+Tab) until the element with `testid` has the focus; every stop must be named. */
async function tabTo(page: Page, testid: string, stops: string[], back = false): Promise<void> {
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const now = await focused(page);
    stops.push(`${now.testid || '-'} ${now.what}`);
    await expect(page.locator(':focus'), `tab stop ${stops.length}`).toHaveAccessibleName(/\S/);
    if (now.testid === testid) return;
  }
  throw new Error(`Tab never reached ${testid}: ${stops.join('\n')}`);
}

test('keyboard only: tab to Start, run, open a result with Enter, close it; the live region tells the progress', async ({ page }) => {
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 8, concurrency: 4 });
  const stops: string[] = [];

  // The sample count, then (back) the loader, then on to Start.
  await tabTo(page, 'sample-count', stops);
  await expectFocusVisible(page, 'sample-count');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('12');
  await tabTo(page, 'load-samples', stops, true);
  await expectFocusVisible(page, 'load-samples');
  await page.keyboard.press('Enter');
  await expect(pacer.byId('urls')).toHaveValue(/img-0012\.jpg$/);
  await tabTo(page, 'start', stops);
  console.log(`tab stops up to Start:\n  ${stops.join('\n  ')}`);
  await expectFocusVisible(page, 'start');
  await page.keyboard.press('Enter');
  await pacer.waitForState('running', 5_000);
  // Start is disabled now: the focus went on to Pause, not to the page's top.
  await expect(pacer.byId('pause')).toBeFocused();
  await expectFocusVisible(page, 'pause');

  // On to the first result, and its details with Enter.
  await expect.poll(() => pacer.number('stat-done'), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
  await tabTo(page, 'result-row', []);
  await expectFocusVisible(page, 'a result row');
  const row = page.locator(':focus');
  const index = (await row.locator('.col-index').textContent())!.trim();
  await page.keyboard.press('Enter');
  const detail = page.getByRole('complementary', { name: `Details of item ${index}` });
  await expect(detail).toBeVisible();
  await expect(detail).toBeFocused();
  await expectFocusVisible(page, 'the details');
  await page.keyboard.press('Tab');
  await expect(detail.getByRole('button', { name: 'Close the details' })).toBeFocused();
  await expectFocusVisible(page, 'the close button');
  await page.keyboard.press('Enter');
  await expect(detail).toHaveCount(0);
  // The focus is back on the row that opened them.
  await expect(page.locator(':focus')).toHaveAttribute('data-testid', 'result-row');
  await expect(page.locator(':focus .col-index')).toHaveText(index);
  await expectFocusVisible(page, 'the row again');
  // Space opens them too, and Escape closes them.
  await page.keyboard.press(' ');
  await expect(detail).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(detail).toHaveCount(0);
  await expect(page.locator(':focus .col-index')).toHaveText(index);

  // The live region: visually hidden, polite, and not every tick.
  await pacer.waitForState('done', 30_000);
  const region = pacer.byId('announcer');
  await expect(region).toHaveAttribute('aria-live', 'polite');
  await expect(region).toContainText('Run done: 12 of 12 done, 0 failed.');
  const box = await region.boundingBox();
  expect(box!.width * box!.height).toBeLessThanOrEqual(1);
  const said = await region.locator('p').allTextContents();
  console.log(`live region now: ${JSON.stringify(said)}`);
  expect(said.length).toBeLessThanOrEqual(3);
});

test('the live region says the start, every tenth, the notice and the end, and no more', async ({ page }) => {
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 8, concurrency: 4 });
  // Every line the region ever held, in order (it keeps only the last few).
  await page.evaluate(() => {
    const w = window as unknown as { said: string[] };
    w.said = [];
    const region = document.querySelector('[data-testid="announcer"]')!;
    new MutationObserver((records) => {
      for (const r of records) for (const n of Array.from(r.addedNodes)) w.said.push(n.textContent ?? '');
    }).observe(region, { childList: true, subtree: true });
  });
  await pacer.loadSamples(40);
  await pacer.byId('start').click();
  await pacer.waitForState('done', 30_000);
  await expect(pacer.byId('announcer')).toContainText('Run done: 40 of 40 done, 0 failed.');
  const said = (await page.evaluate(() => (window as unknown as { said: string[] }).said)).filter((t) => t.trim());
  console.log(`announced:\n  ${said.join('\n  ')}`);
  expect(said[0]).toBe('Run started: 40 images.');
  expect(said.at(-1)).toBe('Run done: 40 of 40 done, 0 failed.');
  const tenths = said.filter((t) => /^\d+ %: \d+ of 40 done, 0 failed\.$/.test(t));
  expect(tenths.length).toBeGreaterThanOrEqual(5);
  expect(tenths.length).toBeLessThanOrEqual(9);
  // The server's announced limit appears in the notice, and so is said.
  expect(said.some((t) => t.includes('8/s'))).toBe(true);
  // Not every tick: 40 items and a ~5 s run make a dozen lines at most.
  expect(said.length).toBeLessThanOrEqual(13);
});
