// Issue 3/5 item 5: bad input gets a clear message and disturbs nothing
// else. Each case is checked through the data-testid interface: what the
// page says (the URL summary, the `notice`, the start hint) and that a run
// with the bad field fixed or clamped still goes.
import { test, expect } from '@playwright/test';
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
  // Responsive: a click on another control is handled at once.
  const t0 = Date.now();
  await pacer.byId('rate').fill('7');
  await expect(pacer.byId('rate')).toHaveValue('7');
  expect(Date.now() - t0).toBeLessThan(5_000);
});
