// The form's settings are remembered across visits (the
// key only when "remember on this device" is ticked); the query string wins
// over what was remembered, a restored run's settings win over both, and
// "Share settings" gives a link with the settings, never the key.
import { test, expect, Page } from '@playwright/test';
import { Emulator } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';
import { storedText } from '../support/storage';

let emu: Emulator;

test.beforeAll(async () => {
  emu = await Emulator.start(['--limiter', 'fixed-window', '--limit', '8', '--latency-ms', '100']);
});
test.afterAll(async () => emu?.stop());

const KEY = 'sekret-key-4c1d9';

/** The settings fields as the page shows them. */
async function fields(pacer: PacerPage) {
  return {
    endpoint: await pacer.byId('endpoint').inputValue(),
    models: await pacer.byId('model-ids').inputValue(),
    rate: await pacer.byId('rate').inputValue(),
    concurrency: await pacer.byId('concurrency').inputValue(),
    auto: await pacer.byId('rate-auto').isChecked(),
    timeout: await pacer.byId('timeout').inputValue(),
    attempts: await pacer.byId('max-attempts').inputValue(),
  };
}

async function reopen(page: Page, pacer: PacerPage, query: Record<string, string | number> = {}) {
  await page.goto('about:blank');
  await pacer.open(emu.url, query);
}

test('settings come back on the next visit; the key only when remembering is ticked', async ({ page }) => {
  const pacer = new PacerPage(page);
  await pacer.open(emu.url);
  const defaults = await fields(pacer);
  expect(defaults).toEqual({
    endpoint: emu.url, models: 're_roomtype_global_v2,re_features_v4', rate: '4', concurrency: '6',
    auto: false, timeout: '30', attempts: '5',
  });

  await pacer.byId('model-ids').fill('re_logo,re_features_v4');
  await pacer.byId('rate').fill('3.5');
  await pacer.byId('concurrency').fill('5');
  await pacer.byId('rate-auto').check();
  await pacer.byId('timeout').fill('12');
  await pacer.byId('max-attempts').fill('4');
  await pacer.byId('client-key').fill(KEY);
  const changed = await fields(pacer);

  const stored = await storedText(page, { webStorage: true });
  expect(stored).toContain('"rate":"3.5"');
  expect(stored).not.toContain(KEY);

  await reopen(page, pacer);
  expect(await fields(pacer)).toEqual(changed);
  // The key was not kept: the local emulator's demo key is back.
  await expect(pacer.byId('client-key')).toHaveValue('demo-key');
  await expect(pacer.byId('remember-key')).not.toBeChecked();

  // Ticked, the key is kept and comes back; unticked, it is forgotten.
  await pacer.byId('client-key').fill(KEY);
  await pacer.byId('remember-key').check();
  expect(await storedText(page, { webStorage: true })).toContain(KEY);
  await reopen(page, pacer);
  await expect(pacer.byId('client-key')).toHaveValue(KEY);
  await expect(pacer.byId('remember-key')).toBeChecked();
  await pacer.byId('remember-key').uncheck();
  expect(await storedText(page, { webStorage: true })).not.toContain(KEY);
  await reopen(page, pacer);
  await expect(pacer.byId('client-key')).not.toHaveValue(KEY);

  // A preset is remembered as its endpoint, and the demo key is not sent
  // to it.
  await page.getByRole('combobox', { name: 'Endpoint preset' }).selectOption({ label: 'restb.ai EU' });
  await reopen(page, pacer);
  await expect(pacer.byId('endpoint')).toHaveValue('https://api-eu.restb.ai');
  await expect(page.getByRole('combobox', { name: 'Endpoint preset' })).toHaveValue('https://api-eu.restb.ai');
  await expect(pacer.byId('client-key')).toHaveValue('');
  expect(await storedText(page, { webStorage: true })).not.toContain(KEY);
});

test('the query string wins over remembered settings, field by field', async ({ page }) => {
  const pacer = new PacerPage(page);
  await pacer.open(emu.url);
  await pacer.byId('rate').fill('3');
  await pacer.byId('concurrency').fill('9');
  await pacer.byId('model-ids').fill('re_logo');

  await reopen(page, pacer, { rate: 7, models: 're_features_v4', auto: 1 });
  const shown = await fields(pacer);
  expect(shown.rate).toBe('7');
  expect(shown.models).toBe('re_features_v4');
  expect(shown.auto).toBe(true);
  expect(shown.concurrency).toBe('9'); // remembered, not in the link

  // Opening a link does not overwrite what was remembered until a setting
  // is changed on the page.
  await reopen(page, pacer);
  expect((await fields(pacer)).rate).toBe('3');
  await reopen(page, pacer, { rate: 7 });
  await pacer.byId('concurrency').fill('2');
  await reopen(page, pacer);
  expect(await fields(pacer)).toMatchObject({ rate: '7', concurrency: '2', models: 're_logo' });
});

test("a restored run's settings win over remembered and query settings", async ({ page }) => {
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 8, concurrency: 6 });
  await pacer.loadSamples(5);
  await pacer.byId('start').click();
  await pacer.waitForState('done', 20_000);
  await pacer.byId('rate').fill('3'); // remembered after the run

  // Not through `open`, which waits for `idle`: the saved run may already be back.
  await page.goto(`${emu.url}/?rate=2&concurrency=3`);
  // The page opens with the query's values, then shows the saved run with
  // the settings it ran with.
  await pacer.waitForState('done', 10_000);
  await expect(pacer.byId('rate')).toHaveValue('8');
  await expect(pacer.byId('concurrency')).toHaveValue('6');
  await expect(pacer.byId('urls')).toHaveValue(/img-0005\.jpg$/);
  // Cleared, the run no longer overrides anything.
  await pacer.byId('clear').click();
  await pacer.byId('rate').fill('5');
  await reopen(page, pacer);
  await expect(pacer.byId('rate')).toHaveValue('5');
});

test('Share settings copies a link with the settings and never the key', async ({ page, context, browser }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: emu.url });
  const pacer = new PacerPage(page);
  await pacer.open(emu.url);
  await pacer.byId('client-key').fill(KEY);
  await pacer.byId('remember-key').check();
  await pacer.byId('rate').fill('6.5');
  await pacer.byId('concurrency').fill('7');
  await pacer.byId('rate-auto').check();
  await pacer.byId('model-ids').fill('re_logo');
  const settings = await fields(pacer);

  await pacer.byId('share-settings').click();
  await expect(page.getByText('Link copied to the clipboard.')).toBeVisible();
  const link = await pacer.byId('share-url').inputValue();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);
  console.log(`share link: ${link}`);
  expect(link).not.toContain(KEY);
  expect(link).not.toContain('key');
  const url = new URL(link);
  expect(url.searchParams.get('rate')).toBe('6.5');
  expect(url.searchParams.get('auto')).toBe('1');

  // Opened elsewhere (a fresh browser profile), the link gives the same settings and no key.
  const other = await browser.newContext();
  const elsewhere = new PacerPage(await other.newPage());
  await elsewhere.page.goto(link);
  await expect(elsewhere.byId('run-state')).toHaveText('idle');
  expect(await fields(elsewhere)).toEqual(settings);
  await expect(elsewhere.byId('client-key')).not.toHaveValue(KEY);
  await other.close();

  // A changed setting changes the link (and the copied status goes).
  await pacer.byId('rate').fill('2');
  await expect(pacer.byId('share-url')).toHaveValue(/rate=2(&|$)/);
  await expect(page.getByText('Link copied to the clipboard.')).toHaveCount(0);
});
