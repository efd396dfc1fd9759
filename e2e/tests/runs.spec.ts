// Runs with an id, an owner and a history, judged from the emulator's
// access log: two tabs each running their own images (one reloaded
// mid-run and resumed, a third tab watching), a job file imported twice,
// a storage quota too small for a new run, a run's tab closed while two
// others watch, and a save from the one-slot version of the store.
import { test, expect, Page, BrowserContext } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { Emulator, LogLine } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';

let emu: Emulator;

test.beforeAll(async () => {
  emu = await Emulator.start(['--limiter', 'fixed-window', '--limit', '50', '--latency-ms', '1500']);
});
test.afterAll(async () => emu?.stop());

const sample = (n: number) => `${emu.url}/samples/img-${String(n).padStart(4, '0')}.jpg`;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => sample(from + i));

/** 200s per image in `log`. */
function oks(log: LogLine[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const l of log) if (l.status === 200) n.set(l.image, (n.get(l.image) ?? 0) + 1);
  return n;
}

async function startWith(pacer: PacerPage, urls: string[]): Promise<void> {
  await pacer.byId('urls').fill(urls.join('\n'));
  await pacer.byId('start').click();
  await pacer.waitForState('running', 5_000);
}

/** The `data-state` of every history item, by run id. */
async function historyStates(page: Page): Promise<Record<string, string>> {
  return page.$$eval('[data-testid="run-history-item"]', (items) => Object.fromEntries(
    items.map((i) => [i.getAttribute('data-run-id') ?? '', i.getAttribute('data-state') ?? '']),
  ));
}

async function exportJson(page: Page): Promise<any> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()]);
  return JSON.parse(readFileSync((await download.path())!, 'utf8'));
}

test('two tabs, one reloaded mid-run and resumed, a third watching: each run keeps its own images', async ({ browser }) => {
  test.setTimeout(120_000);
  const context: BrowserContext = await browser.newContext({ acceptDownloads: true });
  const [pageA, pageB] = [await context.newPage(), await context.newPage()];
  const [a, b] = [new PacerPage(pageA), new PacerPage(pageB)];
  const from = emu.log().length;
  await a.open(emu.url, { rate: 4, concurrency: 6 });
  await b.open(emu.url, { rate: 4, concurrency: 6 });
  const mineA = range(1, 20);
  const mineB = range(21, 40);
  await startWith(a, mineA);
  await startWith(b, mineB);
  await expect.poll(() => a.number('stat-done'), { timeout: 20_000 }).toBeGreaterThanOrEqual(3);

  // A third tab opened meanwhile sees both runs as running elsewhere,
  // and opens neither.
  const pageC = await context.newPage();
  const c = new PacerPage(pageC);
  await pageC.goto(`${emu.url}/`);
  await expect.poll(async () => Object.values(await historyStates(pageC)).sort(), { timeout: 10_000 })
    .toEqual(['running-elsewhere', 'running-elsewhere']);
  await expect(c.byId('run-state')).toHaveText('idle');
  await expect(pageC.locator('[data-testid="run-history-item"] [data-testid="history-resume"]').first()).toBeDisabled();

  // A is reloaded mid-run: it comes back with its own run, interrupted.
  const reloadAt = Date.now();
  await pageA.reload();
  await a.waitForState('interrupted', 10_000);
  await expect(a.byId('result-row').first()).toBeVisible();
  const rowsA = await a.allRows();
  expect(rowsA.map((r) => r.url)).toEqual(mineA);
  const charged = await a.number('stat-possibly-charged');
  console.log(`possibly charged after the reload: ${charged}`);
  await a.byId('resume').click();
  await a.waitForState('done', 60_000);
  await b.waitForState('done', 60_000);
  await expect.poll(async () => Object.values(await historyStates(pageC)).sort(), { timeout: 10_000 })
    .toEqual(['done', 'done']);

  const [jsonA, jsonB] = [await exportJson(pageA), await exportJson(pageB)];
  expect(jsonA.run).toBeTruthy();
  expect(jsonB.run).toBeTruthy();
  expect(jsonA.run).not.toBe(jsonB.run);
  expect(jsonA.items.map((i: any) => i.image)).toEqual(mineA);
  expect(jsonB.items.map((i: any) => i.image)).toEqual(mineB);
  for (const json of [jsonA, jsonB]) expect(json.items.filter((i: any) => i.state !== 'done')).toEqual([]);
  expect(jsonA.possibly_charged ?? 0).toBe(charged);
  const chargedImages = new Set<string>(jsonA.items
    .filter((i: any) => i.attempts.some((t: any) => t.possibly_charged)).map((i: any) => i.image));

  // The log: every image answered 200 exactly once, except one in flight
  // at the reload: the server may have answered it while the page was
  // going (its 200 lost to the page), and the resumed run sent it again
  // and shows it as possibly charged. A request the server saw without a
  // 200 (cut off by the reload) is one the page shows as possibly charged.
  const log = emu.log().slice(from);
  const ok = oks(log);
  for (const image of [...mineA, ...mineB]) {
    if (chargedImages.has(image)) expect([1, 2], image).toContain(ok.get(image));
    else expect(ok.get(image), image).toBe(1);
  }
  const cut = new Set(log.filter((l) => l.status !== 200 && l.arrival_ms < reloadAt + 1000).map((l) => l.image));
  for (const image of cut) expect(chargedImages.has(image), image).toBe(true);
  expect([...chargedImages].every((i) => mineA.includes(i))).toBe(true);

  // Each image carries its own labels: the emulator's (deterministic)
  // answer for that image, asked for again now.
  const checks = [...jsonA.items.slice(0, 3), ...jsonB.items.slice(0, 3)].map(async (item: any) => {
    const solutions = item.prediction.solutions as { model: string; raw: unknown }[];
    const models = solutions.map((s) => s.model).join(',');
    const url = `${emu.url}/vision/v2/multipredict?client_key=demo-key&model_id=${encodeURIComponent(models)}&image_url=${encodeURIComponent(item.image)}`;
    const direct = await (await fetch(url)).json();
    for (const s of solutions) expect(direct.response.solutions[s.model], item.image).toEqual(s.raw);
  });
  await Promise.all(checks);
  await context.close();
});

test('the same job file imported twice: its pending images are sent once', async ({ page }) => {
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 8, concurrency: 6 });
  const images = range(41, 50);
  const job = {
    format: 'pacer-job',
    part: null,
    run: {
      version: 1, id: 'job-imported-twice', started_unix_ms: Date.now(),
      settings: { endpoint: emu.url, models: ['re_roomtype_global_v2'], per_model: false, rate: 8, concurrency: 6, auto_rate: false, timeout_ms: 30000, max_attempts: 5 },
      sources: images, files: [],
    },
    items: [],
  };
  const file = { name: 'job.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(job)) };
  const from = emu.log().length;
  await pacer.byId('import-file').setInputFiles(file);
  await pacer.waitForState('interrupted', 10_000);
  await pacer.byId('resume').click();
  await pacer.waitForState('done', 30_000);
  expect(await pacer.number('stat-done')).toBe(10);

  await pacer.byId('import-file').setInputFiles(file);
  // The known run opens, finished: nothing left to send.
  await expect(pacer.byId('notice')).toContainText('results of the last run', { timeout: 10_000 });
  await pacer.waitForState('done');
  await expect(pacer.byId('resume')).toBeDisabled();
  await page.waitForTimeout(1500);
  const ok = oks(emu.log().slice(from));
  expect(images.filter((i) => ok.get(i) !== 1)).toEqual([]);
  expect(await page.locator('[data-testid="run-history-item"][data-run-id="job-imported-twice"]').count()).toBe(1);
});

/** A PNG of random pixels (`w`×`h`): its JPEG stays large. */
async function noise(page: Page, w: number, h: number, seed: number): Promise<Buffer> {
  const b64 = await page.evaluate(async ([w, h, seed]) => {
    const c = new OffscreenCanvas(w, h);
    const g = c.getContext('2d')!;
    const img = g.createImageData(w, h);
    let x = seed * 2654435761 >>> 0;
    for (let i = 0; i < img.data.length; i++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      img.data[i] = i % 4 === 3 ? 255 : x & 255;
    }
    g.putImageData(img, 0, 0);
    const bytes = new Uint8Array(await (await c.convertToBlob({ type: 'image/png' })).arrayBuffer());
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  }, [w, h, seed]);
  return Buffer.from(b64, 'base64');
}

test('a quota too small for a new run: it goes on unsaved and says so; the previous run is intact', async ({ browser }) => {
  test.setTimeout(90_000);
  const context = await browser.newContext();
  const page = await context.newPage();
  // Chromium applies a quota override to storage opened after it: lower
  // it before the page first opens its database. 1 MB holds a run of ten
  // URLs, not one with ten large local images.
  await page.goto(`${emu.url}/samples/img-0001.jpg`);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: emu.url, quotaSize: 1_000_000 });
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 8, concurrency: 6 });
  await startWith(pacer, range(51, 60));
  await pacer.waitForState('done', 30_000);
  await expect(page.getByTestId('run-history-item')).toHaveCount(1);
  const first = await page.getByTestId('run-history-item').getAttribute('data-run-id');

  const files = [];
  for (let i = 0; i < 10; i++) files.push({ name: `noise-${i}.png`, mimeType: 'image/png', buffer: await noise(page, 900, 900, i + 1) });
  // The new run: the same ten URLs (a new run, not the old one again)
  // and the ten images.
  await pacer.byId('files').setInputFiles(files);
  await expect(pacer.byId('start')).toBeEnabled();
  await page.waitForTimeout(1000);
  await pacer.byId('start').click();
  await expect(pacer.byId('save-warning')).toContainText('could not be saved', { timeout: 10_000 });
  await pacer.waitForState('done', 60_000);
  expect(await pacer.number('stat-done')).toBe(20);
  // Nothing hid it meanwhile, and it is still there at the end.
  await expect(pacer.byId('save-warning')).toContainText('could not be saved');

  await page.reload();
  await pacer.waitForState('done', 10_000);
  await expect(page.getByTestId('run-history-item')).toHaveCount(1);
  const item = page.getByTestId('run-history-item');
  await expect(item).toHaveAttribute('data-run-id', first!);
  await expect(item.getByTestId('history-done')).toContainText('10');
  expect((await pacer.allRows()).map((r) => r.url)).toEqual(range(51, 60));
  await context.close();
});

test('a tab closed mid-run while two others watch: it is resumed exactly once', async ({ browser }) => {
  test.setTimeout(90_000);
  const context = await browser.newContext();
  const owner = new PacerPage(await context.newPage());
  await owner.open(emu.url, { rate: 4, concurrency: 4 });
  const images = range(71, 90);
  const from = emu.log().length;
  await startWith(owner, images);
  const watchers = [new PacerPage(await context.newPage()), new PacerPage(await context.newPage())];
  for (const w of watchers) await w.page.goto(`${emu.url}/`);
  for (const w of watchers) {
    await expect(w.page.getByTestId('run-history-item')).toHaveAttribute('data-state', 'running-elsewhere', { timeout: 10_000 });
  }
  await expect.poll(() => owner.number('stat-done'), { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
  await owner.page.close({ runBeforeUnload: true });

  for (const w of watchers) {
    await expect(w.page.getByTestId('run-history-item')).toHaveAttribute('data-state', 'interrupted', { timeout: 10_000 });
  }
  // Both press Resume at the same moment: one takes the run; the other
  // is told it runs in another tab (or, had its list already caught up,
  // finds its Resume disabled).
  await Promise.all(watchers.map((w) => w.page.evaluate(() =>
    (document.querySelector('[data-testid="history-resume"]') as HTMLButtonElement).click())));
  await expect.poll(async () => (await Promise.all(watchers.map((w) => w.byId('run-state').textContent()))).sort(), { timeout: 10_000 })
    .toEqual(['idle', 'running']);
  const taker = (await watchers[0].byId('run-state').textContent()) === 'running' ? watchers[0] : watchers[1];
  const other = taker === watchers[0] ? watchers[1] : watchers[0];
  await expect(other.page.getByTestId('run-history-item')).toHaveAttribute('data-state', 'running-elsewhere', { timeout: 10_000 });
  await expect(other.page.getByTestId('history-resume')).toBeDisabled();
  const told = await other.byId('notice').textContent();
  console.log(`the other watcher was told: "${told}"`);
  await taker.waitForState('done', 60_000);
  await expect(other.page.getByTestId('run-history-item')).toHaveAttribute('data-state', 'done', { timeout: 10_000 });
  const ok = oks(emu.log().slice(from));
  expect(images.filter((i) => ok.get(i) !== 1)).toEqual([]);
  await context.close();
});

test('a run saved by the one-slot store comes back after the upgrade and resumes', async ({ page }) => {
  // Write the old shape by hand at the page's origin, before the page runs.
  await page.goto(`${emu.url}/samples/img-0001.jpg`);
  const images = range(91, 93);
  await page.evaluate(async ({ images, endpoint }) => {
    const req = indexedDB.open('pacer', 2);
    req.onupgradeneeded = () => {
      const db = req.result;
      for (const name of ['run', 'items', 'files']) db.createObjectStore(name);
    };
    const db: IDBDatabase = await new Promise((ok, fail) => { req.onsuccess = () => ok(req.result); req.onerror = () => fail(req.error); });
    const tx = db.transaction(['run', 'items'], 'readwrite');
    tx.objectStore('run').put(JSON.stringify({
      version: 1, started_unix_ms: Date.now() - 60_000,
      settings: { endpoint, models: ['re_roomtype_global_v2'], rate: 8, concurrency: 4, auto_rate: false, timeout_ms: 30000 },
      sources: images, files: [],
    }), 'current');
    tx.objectStore('items').put(JSON.stringify({ state: 'failed', attempts: [], prediction: null, reason: 'HTTP 400: bad image' }), 0);
    await new Promise((ok) => { tx.oncomplete = ok; });
    db.close();
  }, { images, endpoint: emu.url });

  const pacer = new PacerPage(page);
  const from = emu.log().length;
  await page.goto(`${emu.url}/`);
  await pacer.waitForState('interrupted', 10_000);
  expect((await pacer.allRows()).map((r) => r.state)).toEqual(['failed', 'queued', 'queued']);
  await expect(page.getByTestId('run-history-item')).toHaveAttribute('data-state', 'interrupted');
  await pacer.byId('resume').click();
  await pacer.waitForState('done', 20_000);
  const sent = emu.log().slice(from).map((l) => l.image).sort();
  expect(sent).toEqual(images.slice(1));
});
