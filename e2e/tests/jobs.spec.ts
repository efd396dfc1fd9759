// Job files: a list of images imported from a CSV or
// JSON file (choosing the column), and a run exported as job files (split
// in two) and continued in another browser profile, sending only what it
// had not finished.
import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { Emulator, LogLine } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';

let emu: Emulator;

test.beforeAll(async () => {
  emu = await Emulator.start(['--limiter', 'fixed-window', '--limit', '8', '--latency-ms', '200']);
});
test.afterAll(async () => emu?.stop());

const sample = (n: number) => `${emu.url}/samples/img-${String(n).padStart(4, '0')}.jpg`;

test('a CSV or JSON list fills the URL box from the column of image URLs', async ({ page }) => {
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 8, concurrency: 4 });
  const csv = ['id,room,photo,listing', ...[1, 2, 3].map((n) => `${n},kitchen,${sample(n)},https://listings.test/${n}`)].join('\n');
  await pacer.byId('import-file').setInputFiles({ name: 'photos.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  // Both URL columns are offered; the first with most URLs is used.
  await expect(pacer.byId('urls')).toHaveValue([1, 2, 3].map(sample).join('\n'));
  await expect(pacer.byId('import-column').locator('option')).toHaveText(['photo (3 URLs)', 'listing (3 URLs)']);
  await pacer.byId('import-column').selectOption({ label: 'listing (3 URLs)' });
  await expect(pacer.byId('urls')).toHaveValue(/^https:\/\/listings\.test\/1\n/);
  await expect(pacer.byId('notice')).toContainText('column “listing” of photos.csv');

  const json = JSON.stringify([{ url: sample(7), note: 'a' }, { url: sample(8) }]);
  await pacer.byId('import-file').setInputFiles({ name: 'list.json', mimeType: 'application/json', buffer: Buffer.from(json) });
  await expect(pacer.byId('urls')).toHaveValue(`${sample(7)}\n${sample(8)}`);
  await pacer.byId('import-file').setInputFiles({ name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from('{nope') });
  await expect(pacer.byId('notice')).toContainText('bad.json is not valid JSON');
  await expect(pacer.byId('urls')).toHaveValue(`${sample(7)}\n${sample(8)}`);
});

test('a run exported as two job files continues elsewhere, sending only what was left', async ({ browser }) => {
  test.setTimeout(90_000);
  const first = await browser.newContext({ acceptDownloads: true });
  const page = await first.newPage();
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 4, concurrency: 4 });
  // Twice the images the pause leaves done at most (6, a tick's worth and
  // the 4 on the wire finishing): part 1 always has some left to send.
  await pacer.loadSamples(40);
  const from = emu.log().length;
  await pacer.byId('start').click();
  await expect.poll(() => pacer.number('stat-done'), { timeout: 20_000 }).toBeGreaterThanOrEqual(6);
  await pacer.byId('pause').click();
  await pacer.waitForState('paused');
  await expect.poll(() => pacer.number('stat-in-flight')).toBe(0);

  await pacer.byId('job-parts').fill('2');
  const downloads: string[] = [];
  page.on('download', async (d) => downloads.push(d.suggestedFilename() + '\n' + readFileSync((await d.path())!, 'utf8')));
  await pacer.byId('export-job').click();
  await expect.poll(() => downloads.length).toBe(2);
  const [part1, part2] = downloads.sort().map((d) => d.slice(d.indexOf('\n') + 1));
  expect(downloads.map((d) => d.split('\n')[0])).toEqual(['pacer-job-1-of-2.json', 'pacer-job-2-of-2.json']);
  for (const text of [part1, part2]) expect(text).not.toContain('demo-key');
  const job1 = JSON.parse(part1);
  expect(job1.format).toBe('pacer-job');
  expect(job1.run.sources).toHaveLength(20);
  // What part 1 says was done (the page's figures lag its rows by a tick).
  const doneInJob = (job1.items as [number, { state: string }][]).filter(([, item]) => item.state === 'done').length;
  expect(doneInJob).toBeGreaterThanOrEqual(6);
  await first.close();

  // Another browser profile: nothing saved, the job imported.
  const second = await browser.newContext();
  const other = await second.newPage();
  const elsewhere = new PacerPage(other);
  await elsewhere.open(emu.url, {});
  await elsewhere.byId('import-file').setInputFiles({ name: 'pacer-job-1-of-2.json', mimeType: 'application/json', buffer: Buffer.from(part1) });
  await elsewhere.waitForState('interrupted', 10_000);
  expect(await elsewhere.allRows()).toHaveLength(20);
  await expect(elsewhere.byId('rate')).toHaveValue('4');
  expect(await elsewhere.number('stat-done')).toBe(doneInJob);
  await elsewhere.byId('resume').click();
  await elsewhere.waitForState('done', 30_000);
  expect(await elsewhere.number('stat-done')).toBe(20);
  await second.close();

  // Across both browsers, no image of part 1 succeeded twice.
  const ok = new Map<string, number>();
  for (const l of emu.log().slice(from).filter((l: LogLine) => l.status === 200)) ok.set(l.image, (ok.get(l.image) ?? 0) + 1);
  const part1Images = job1.run.sources as string[];
  expect(part1Images.filter((i) => ok.get(i) !== 1)).toEqual([]);
});
