// Bad input gets a clear message and disturbs nothing
// else. Each case is checked through the data-testid interface: what the
// page says (the URL summary, the `notice`, the start hint) and that a run
// with the bad field fixed or clamped still goes.
import { test, expect, Page } from '@playwright/test';
import { Emulator } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';

let emu: Emulator;

test.beforeAll(async () => {
  emu = await Emulator.start(['--limiter', 'fixed-window', '--limit', '20', '--latency-ms', '50']);
});
test.afterAll(async () => emu?.stop());

test('blank, garbage, non-http and duplicate lines are counted and only good URLs are sent', async ({ page }) => {
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 20, concurrency: 4 });
  const a = `${emu.url}/samples/img-0001.jpg`;
  const b = `${emu.url}/samples/img-0002.jpg`;
  await pacer.byId('urls').fill(['', a, '   ', 'not a url', 'ftp://x/y.jpg', 'javascript:alert(1)', b, a, ''].join('\n'));
  const summary = page.locator('.source-summary');
  await expect(summary).toContainText('2 valid');
  // "not a url" is three entries: lines split on whitespace and commas too.
  await expect(summary).toContainText('5 invalid');
  await expect(summary).toContainText('1 duplicate(s) skipped');
  await expect(page.locator('.invalid-list')).toContainText('ftp://x/y.jpg');

  const before = emu.log().length;
  await pacer.byId('start').click();
  await pacer.waitForState('done', 15_000);
  expect(await pacer.number('stat-done')).toBe(2);
  expect(emu.log().slice(before).map((l) => l.image).sort()).toEqual([a, b]);

  // With duplicates allowed, the repeated line is sent too.
  await pacer.byId('allow-duplicates').check();
  await expect(summary).toContainText('1 duplicate(s) kept');
  await pacer.byId('start').click();
  await pacer.waitForState('done', 15_000);
  expect(await pacer.number('stat-done')).toBe(3);
});

test('a bad rate, no model, no key or a bad endpoint: Start says what is wrong and starts nothing', async ({ page }) => {
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 20, concurrency: 4 });
  await pacer.loadSamples(3);
  const cases: [string, string, RegExp][] = [
    ['rate', '0', /rate/i],
    ['rate', '-2', /rate/i],
    ['rate', 'abc', /rate/i],
    ['model-ids', ' , ', /model/i],
    ['client-key', '', /key/i],
    ['endpoint', 'not a url', /endpoint/i],
    ['timeout', '0', /timeout/i],
  ];
  for (const [field, value, said] of cases) {
    const good = await pacer.byId(field).inputValue();
    await pacer.byId(field).fill(value);
    const before = emu.log().length;
    await pacer.byId('start').click();
    await expect(pacer.byId('notice'), `${field} = "${value}"`).toHaveText(said);
    await expect(pacer.byId('run-state')).not.toHaveText('running');
    expect(emu.log().length, `${field} = "${value}" sent nothing`).toBe(before);
    await pacer.byId(field).fill(good);
  }
  // Fixed again, the same form runs.
  await pacer.byId('start').click();
  await pacer.waitForState('done', 15_000);
  expect(await pacer.number('stat-done')).toBe(3);
});

test('concurrency 0 or 10 000 is clamped with a message and the run goes', async ({ page }) => {
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 20, concurrency: 4 });
  await pacer.loadSamples(3);
  for (const [asked, used] of [['0', '1'], ['10000', '256']]) {
    await pacer.byId('concurrency').fill(asked);
    await pacer.byId('start').click();
    await expect(pacer.byId('notice')).toContainText(`using ${used}`);
    await pacer.waitForState('done', 15_000);
    expect(await pacer.number('stat-done')).toBe(3);
  }
});

test('100 000 pasted lines are taken in and the page stays responsive', async ({ page }) => {
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 20, concurrency: 4 });
  const text = Array.from({ length: 100_000 }, (_, i) => `https://images.example/${i}.jpg`).join('\n');
  const took = await page.evaluate((t) => {
    const box = document.querySelector('[data-testid="urls"]') as HTMLTextAreaElement;
    const start = performance.now();
    box.value = t;
    box.dispatchEvent(new Event('input', { bubbles: true }));
    return performance.now() - start;
  }, text);
  await expect(page.locator('.source-summary')).toContainText('100000 valid');
  console.log(`100 000 lines: input handled in ${took.toFixed(0)} ms`);
  // Held, not drawn in the box (which would take the browser seconds).
  await expect(pacer.byId('urls-held')).toContainText('100000 lines are held');
  await expect(pacer.byId('urls')).toHaveValue('');
  // Responsive: a click on another control is handled at once.
  const t0 = Date.now();
  await pacer.byId('rate').fill('7');
  await expect(pacer.byId('rate')).toHaveValue('7');
  expect(Date.now() - t0).toBeLessThan(5_000);
});

/** Sets the URL box as a script would (Playwright's `fill` types long texts slowly). */
async function setBox(page: Page, text: string): Promise<void> {
  await page.getByTestId('urls').evaluate((box: HTMLTextAreaElement, t) => {
    box.value = t;
    box.dispatchEvent(new Event('input', { bubbles: true }));
  }, text);
}

/** Pastes `text` into the URL box, at its selection, as the clipboard would. */
async function paste(page: Page, text: string): Promise<boolean> {
  return page.getByTestId('urls').evaluate((box: HTMLTextAreaElement, t) => {
    box.focus();
    const data = new DataTransfer();
    data.setData('text/plain', t);
    const ev = new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true });
    box.dispatchEvent(ev);
    return ev.defaultPrevented;
  }, text);
}

test('a long list is held out of the box: shown on request, replaced by typing, cleared by its button', async ({ page }) => {
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 20, concurrency: 4 });
  const lines = Array.from({ length: 6_000 }, (_, i) => `${emu.url}/samples/img-${String((i % 40) + 1).padStart(4, '0')}.jpg?n=${i}`);
  await setBox(page, lines.join('\n'));
  await expect(pacer.byId('urls-held')).toBeVisible();
  await expect(pacer.byId('urls')).toHaveValue('');
  await expect(pacer.byId('urls')).toHaveAttribute('placeholder', /6000 lines held/);
  await expect(page.locator('.source-summary')).toContainText('6000 valid');
  // Shown on request, whole.
  await pacer.byId('urls-held').getByRole('button', { name: 'Show it in the box' }).click();
  await expect(pacer.byId('urls-held')).toBeHidden();
  expect((await pacer.byId('urls').inputValue()).split('\n')).toHaveLength(6_000);
  // A short list is shown as typed; a long one is held again.
  await pacer.byId('urls').fill(lines.slice(0, 3).join('\n'));
  await expect(pacer.byId('urls')).toHaveValue(lines.slice(0, 3).join('\n'));
  await expect(page.locator('.source-summary')).toContainText('3 valid');
  await setBox(page, lines.join('\n'));
  await expect(pacer.byId('urls-held')).toBeVisible();
  // Typing in the box replaces the held list.
  await pacer.byId('urls').pressSequentially('x');
  await expect(page.locator('.source-summary')).toContainText('0 valid · 1 invalid');
  await setBox(page, lines.join('\n'));
  await pacer.byId('urls-held').getByRole('button', { name: 'Clear the list' }).click();
  await expect(page.locator('.source-summary')).toContainText('0 valid · 0 invalid');
  await expect(pacer.byId('urls-held')).toBeHidden();

  // A paste that makes the list long is taken straight into the list (the
  // browser's own insertion of 6 000 lines takes it tens of seconds); the
  // two lines already in the box stay, before the pasted ones.
  await pacer.byId('urls').fill(lines.slice(0, 2).join('\n') + '\n');
  expect(await paste(page, lines.slice(2).join('\n'))).toBe(true);
  await expect(page.locator('.source-summary')).toContainText('6000 valid');
  await expect(pacer.byId('urls-held')).toBeVisible();
  // A short paste is left to the browser.
  await pacer.byId('urls-held').getByRole('button', { name: 'Clear the list' }).click();
  expect(await paste(page, lines[0])).toBe(false);
  // Start sends the held list.
  await setBox(page, lines.slice(0, 5_000).join('\n'));
  await expect(pacer.byId('urls-held')).toBeVisible();
  await pacer.byId('start').click();
  await expect.poll(() => pacer.number('stat-done'), { timeout: 15_000 }).toBeGreaterThan(0);
  await expect(pacer.byId('result-row').first()).toBeVisible();
  await pacer.byId('cancel').click();
});
