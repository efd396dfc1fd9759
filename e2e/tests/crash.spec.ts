// No input crashes the page: a rate Pacer cannot pace at (from a link, the
// form, mid-run), a job file with impossible timestamps or repeated items,
// a saved run with such timestamps. Each leaves the page working and says
// what was wrong. The release build aborts on a panic; had one happened,
// the panic notice (and a pageerror) would show it.
import { test, expect, Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { Emulator } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';

let emu: Emulator;

test.beforeAll(async () => {
  emu = await Emulator.start(['--limiter', 'fixed-window', '--limit', '20', '--latency-ms', '50']);
});
test.afterAll(async () => emu?.stop());

/** Page errors (an aborted wasm throws `unreachable`). */
function errorsOf(page: Page): string[] {
  const seen: string[] = [];
  page.on('pageerror', (e) => seen.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && /panicked|unreachable|RuntimeError/.test(m.text())) seen.push(m.text());
  });
  return seen;
}

async function stillWorks(pacer: PacerPage, images: number): Promise<void> {
  await pacer.byId('rate').fill('10');
  await pacer.loadSamples(images);
  await pacer.byId('start').click();
  await pacer.waitForState('done', 30_000);
  expect(await pacer.number('stat-done')).toBe(images);
}

test('?rate=1e-20 is refused with a reason, and the page still runs', async ({ page }) => {
  const errors = errorsOf(page);
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: '1e-20' });
  await expect(pacer.byId('rate')).toHaveValue('1e-20');
  await expect(pacer.byId('rate-problem')).toContainText('below the lowest Pacer sends at, 0.001');
  await pacer.loadSamples(3);
  await pacer.byId('start').click();
  await expect(pacer.byId('notice')).toContainText('below the lowest');
  await expect(pacer.byId('run-state')).toHaveText('idle');
  expect(emu.log()).toEqual([]);
  await stillWorks(pacer, 3);
  await expect(pacer.byId('panic-notice')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('typing absurd rates during a run changes nothing and breaks nothing', async ({ page }) => {
  const errors = errorsOf(page);
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 5, concurrency: 2 });
  await pacer.loadSamples(15);
  await pacer.byId('start').click();
  await expect.poll(() => pacer.number('stat-done'), { timeout: 10_000 }).toBeGreaterThan(2);
  // Every keystroke is a live rate change: "1e-200" passes through "1e-20".
  await pacer.byId('rate').fill('');
  await pacer.byId('rate').pressSequentially('1e-200');
  await expect(pacer.byId('rate-problem')).toBeVisible();
  await pacer.byId('rate').fill('1e300');
  await expect(pacer.byId('rate-problem')).toContainText('above');
  await pacer.byId('rate').fill('10');
  await pacer.waitForState('done', 30_000);
  expect(await pacer.number('stat-done')).toBe(15);
  await expect(pacer.byId('panic-notice')).toHaveCount(0);
  expect(errors).toEqual([]);
});

/** Runs `n` images and returns the exported job file, parsed. */
async function exportedJob(pacer: PacerPage, n: number): Promise<{ items: [number, { attempts: { sent_unix_ms: number }[] }][] } & Record<string, unknown>> {
  await pacer.loadSamples(n);
  await pacer.byId('start').click();
  await pacer.waitForState('done', 30_000);
  const [d] = await Promise.all([pacer.page.waitForEvent('download'), pacer.byId('export-job').click()]);
  return JSON.parse(readFileSync((await d.path())!, 'utf8'));
}

test('a job file with 1e300 timestamps imports, says what was left out, and the page lives', async ({ page }) => {
  const errors = errorsOf(page);
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 10 });
  const job = await exportedJob(pacer, 4);
  expect(job.items.length).toBe(4);
  // As a job from another browser: a run id this one has not seen (a known
  // id would open the run saved here instead of the file's copy).
  const id = 'absurd-job-from-elsewhere';
  (job.run as { id?: string }).id = id;
  for (const [, item] of job.items) {
    item.run = id;
    for (const a of item.attempts) a.sent_unix_ms = 1e300;
  }
  (job.run as { settings: { rate: number } }).settings.rate = 1e-20;
  await pacer.byId('clear').click();
  await pacer.byId('import-file').setInputFiles({
    name: 'absurd.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(job)),
  });
  const notice = pacer.byId('notice');
  await expect(notice).toContainText('Job absurd.json imported');
  await expect(notice).toContainText('4 attempts with an impossible time (e.g. 1e300) left out');
  await expect(notice).toContainText('below the lowest');
  await expect(pacer.byId('rate')).toHaveValue('0.001');
  await expect(pacer.byId('result-row')).toHaveCount(4);

  // Repeated items refuse the file, saying which.
  job.items.push(job.items[0]);
  await pacer.byId('import-file').setInputFiles({
    name: 'twice.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(job)),
  });
  await expect(notice).toContainText('twice.json cannot be imported: item 1 appears twice in it');

  await stillWorks(pacer, 2);
  await expect(pacer.byId('panic-notice')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('a saved run with 1e300 timestamps comes back on reload without a crash', async ({ page }) => {
  const errors = errorsOf(page);
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 10 });
  await pacer.loadSamples(3);
  await pacer.byId('start').click();
  await pacer.waitForState('done', 30_000);
  // Rewrite every saved item's send times in IndexedDB, as a wrong clock or
  // another program could.
  const changed = await page.evaluate(async () => {
    const request = <T>(r: IDBRequest<T>) =>
      new Promise<T>((ok, fail) => {
        r.onsuccess = () => ok(r.result);
        r.onerror = () => fail(r.error);
      });
    let n = 0;
    for (const info of await indexedDB.databases()) {
      const db = await request(indexedDB.open(info.name!));
      // Each run's items, keyed by [run id, index].
      if (!Array.from(db.objectStoreNames).includes('run_items')) continue;
      const store = db.transaction('run_items', 'readwrite').objectStore('run_items');
      const keys = await request(store.getAllKeys());
      for (const key of keys) {
        const value = await request(store.get(key));
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        const item = JSON.parse(text);
        for (const a of item.attempts) a.sent_unix_ms = 1e300;
        const out = typeof value === 'string' ? JSON.stringify(item) : item;
        await request(store.put(out, key));
        n++;
      }
      db.close();
    }
    return n;
  });
  expect(changed).toBe(3);
  await page.reload();
  await pacer.waitForState('done', 10_000);
  await expect(pacer.byId('notice')).toContainText('impossible time');
  await expect(pacer.byId('result-row')).toHaveCount(3);
  await pacer.byId('clear').click();
  await stillWorks(pacer, 2);
  await expect(pacer.byId('panic-notice')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('a small PNG declaring 30000×30000 pixels is refused before it is decoded', async ({ page }) => {
  const errors = errorsOf(page);
  const pacer = new PacerPage(page);
  await pacer.open(emu.url);
  // A PNG signature and an IHDR chunk declaring 30000×30000 RGBA (3.6 GB
  // decoded), then nothing worth decoding: a few dozen bytes on disk.
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(30_000, 0);
  ihdr.writeUInt32BE(30_000, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const bomb = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
    Buffer.from('IHDR'),
    ihdr,
    Buffer.alloc(4),
    Buffer.alloc(64, 0x41),
  ]);
  await pacer.byId('files').setInputFiles([{ name: 'bomb.png', mimeType: 'image/png', buffer: bomb }]);
  await expect(pacer.byId('files-refused')).toContainText(
    'bomb.png: it declares 30000×30000 pixels (900 megapixels); Pacer decodes images up to 64 megapixels',
  );
  await stillWorks(pacer, 2);
  await expect(pacer.byId('panic-notice')).toHaveCount(0);
  expect(errors).toEqual([]);
});
