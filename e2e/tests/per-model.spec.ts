// One call per model instead of one multipredict call.
// With the box ticked, every image × model pair is a work item of its own
// (as the original client queued them), paced like any other call; the
// access log shows one request per pair, each asking for one model. The
// cut is kept with the run: a reload resumes the same pairs, whatever the
// form says by then.
import { test, expect, Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { Emulator, LogLine } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';

let emu: Emulator;

test.beforeAll(async () => {
  emu = await Emulator.start(['--limiter', 'gcra', '--burst', '0', '--limit', '10', '--latency-ms', '200']);
});
test.afterAll(async () => emu?.stop());

const MODELS = ['re_roomtype_global_v2', 're_features_v4', 're_logo'];

/** Successful (image, model) pairs of `log`, with how often each was answered. */
function pairs(log: LogLine[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const l of log.filter((l) => l.status === 200)) {
    const pair = `${l.image} ${l.models}`;
    seen.set(pair, (seen.get(pair) ?? 0) + 1);
  }
  return seen;
}

async function download(page: Page, pacer: PacerPage, id: string): Promise<string> {
  const [d] = await Promise.all([page.waitForEvent('download'), pacer.byId(id).click()]);
  return readFileSync((await d.path())!, 'utf8');
}

test('per-model calls send one request per image × model, and say so in the rows and exports', async ({ page }) => {
  const pacer = new PacerPage(page);
  const from = emu.log().length;
  await pacer.open(emu.url, { rate: 8, concurrency: 4, models: MODELS.join(','), per_model: 1 });
  await expect(pacer.byId('per-model')).toBeChecked();
  await expect(page.locator('.field', { has: pacer.byId('per-model') })).toContainText('3 calls per image');
  await pacer.loadSamples(6);
  await pacer.byId('start').click();
  await pacer.waitForState('done', 30_000);
  expect(await pacer.number('stat-done')).toBe(18);
  expect(await pacer.number('stat-failed')).toBe(0);
  await expect(pacer.byId('result-row')).toHaveCount(18);
  // Rows name their model; an image's three calls sit together.
  await expect(pacer.byId('result-row').nth(0).locator('.item-model')).toHaveText(MODELS[0]);
  await expect(pacer.byId('result-row').nth(2).locator('.item-model')).toHaveText(MODELS[2]);
  await expect(pacer.byId('result-row').nth(3).locator('.item-model')).toHaveText(MODELS[0]);
  // Each logo found is outlined on the thumbnail; other models draw no box.
  for (let i = 0; i < 18; i++) {
    const row = pacer.byId('result-row').nth(i);
    const logos = i % 3 === 2 ? await row.locator('.col-pred .chip').count() : 0;
    await expect(row.locator('.bbox-mini')).toHaveCount(logos);
  }
  await expect(page.locator('.bbox-mini').first()).toBeVisible();

  const log = emu.log().slice(from);
  expect(log.every((l) => MODELS.includes(l.models))).toBe(true);
  const answered = pairs(log);
  expect(answered.size).toBe(18);
  expect([...answered.values()].every((n) => n === 1)).toBe(true);
  expect(new Set(log.map((l) => l.image)).size).toBe(6);

  const csv = (await download(page, pacer, 'export-csv')).trim().split('\n');
  expect(csv[0]).toBe('image,model,label,confidence,status,latency_ms,attempts,error,possibly_charged');
  expect(csv).toHaveLength(1 + 18);
  const models = csv.slice(1).map((line) => line.split(',')[1]);
  for (const m of MODELS) expect(models.filter((x) => x === m)).toHaveLength(6);
  const json = JSON.parse(await download(page, pacer, 'export-json'));
  expect(json.items).toHaveLength(18);
  expect(json.items.map((i: { model: string }) => i.model).slice(0, 4)).toEqual([...MODELS, MODELS[0]]);
  expect(json.items.every((i: { prediction: { solutions: unknown[] } }) => i.prediction.solutions.length === 1)).toBe(true);
});

test('a reload resumes the same image × model calls, whatever the form says by then', async ({ page }) => {
  test.setTimeout(90_000);
  const pacer = new PacerPage(page);
  const from = emu.log().length;
  await pacer.open(emu.url, { rate: 3, concurrency: 3, models: MODELS.slice(0, 2).join(',') });
  await pacer.byId('per-model').check();
  await pacer.loadSamples(8);
  await pacer.byId('start').click();
  await expect.poll(() => pacer.number('stat-done'), { timeout: 20_000 }).toBeGreaterThanOrEqual(4);
  await page.reload();
  await pacer.waitForState('interrupted', 10_000);
  await expect(pacer.byId('result-row')).toHaveCount(16);
  await expect(pacer.byId('per-model')).toBeChecked();
  // Which pairs the page came back knowing as done.
  const done = page.locator('[data-testid="result-row"][data-state="done"]');
  const knownDone = new Set(await done.evaluateAll((rows) => rows.map((r) =>
    `${r.querySelector('.url')?.textContent} ${r.querySelector('.item-model')?.textContent}`)));
  expect(knownDone.size).toBeGreaterThanOrEqual(4);
  // The form changes; the saved run keeps its cut.
  await pacer.byId('per-model').uncheck();
  await pacer.byId('model-ids').fill('re_logo');
  await pacer.byId('rate').fill('8');
  const resumedFrom = emu.log().length;
  await pacer.byId('resume').click();
  await pacer.waitForState('done', 30_000);
  expect(await pacer.number('stat-done')).toBe(16);

  const log = emu.log().slice(from);
  expect(log.every((l) => MODELS.slice(0, 2).includes(l.models))).toBe(true);
  expect(pairs(log).size).toBe(16);
  // Nothing known done was sent again (a request on the wire at the
  // reload was aborted, so the server may have answered it unheard).
  const resent = [...pairs(emu.log().slice(resumedFrom)).keys()].filter((p) => knownDone.has(p));
  expect(resent).toEqual([]);
});
