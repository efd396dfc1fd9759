// Local images: chosen or dropped on the
// `files` input, each downscaled in the browser to 600 px on its short side,
// re-encoded as JPEG and POSTed as image_base64; files that are not images,
// or too large, are named with the reason and nothing else is disturbed.
// A reload mid-run keeps the files: resuming sends what had not succeeded.
import { test, expect, Page } from '@playwright/test';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Emulator } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';

let emu: Emulator;
const dir = mkdtempSync(join(tmpdir(), 'pacer-files-'));

test.beforeAll(async () => {
  emu = await Emulator.start(['--limiter', 'fixed-window', '--limit', '8', '--latency-ms', '200']);
});
test.afterAll(async () => emu?.stop());

/** A `w` × `h` PNG drawn by the browser (gradient and stripes, so it is a real picture). */
async function png(page: Page, w: number, h: number): Promise<Buffer> {
  const b64 = await page.evaluate(async ([w, h]) => {
    const c = new OffscreenCanvas(w, h);
    const g = c.getContext('2d')!;
    const grad = g.createLinearGradient(0, 0, w, h);
    grad.addColorStop(0, '#2563eb');
    grad.addColorStop(1, '#f59e0b');
    g.fillStyle = grad;
    g.fillRect(0, 0, w, h);
    g.fillStyle = '#fff';
    for (let x = 0; x < w; x += 80) g.fillRect(x, 0, 20, h);
    const bytes = new Uint8Array(await (await c.convertToBlob({ type: 'image/png' })).arrayBuffer());
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  }, [w, h]);
  return Buffer.from(b64, 'base64');
}

/** "WxH" of a baseline or progressive JPEG, from its SOF marker. */
function jpegSize(jpeg: Buffer): string {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return 'not a JPEG';
  for (let i = 2; i + 9 < jpeg.length;) {
    if (jpeg[i] !== 0xff) return 'bad marker';
    const marker = jpeg[i + 1];
    const length = jpeg.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xc2) return `${jpeg.readUInt16BE(i + 7)}x${jpeg.readUInt16BE(i + 5)}`;
    i += 2 + length;
  }
  return 'no SOF';
}

/** The POSTed images in the emulator's log since `from`. */
// Uploads: every request is a POST now, image URLs too; files go as base64.
const posts = (from: number) =>
  emu.log().slice(from).filter((l) => l.method === 'POST' && l.image.startsWith('base64:'));

test('files are downscaled, sent as JPEG, and bad ones are named with the reason', async ({ page }) => {
  test.setTimeout(90_000);
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 8, concurrency: 4 });
  const wide = await png(page, 2000, 1500);
  const tall = await png(page, 480, 1200);
  const big = join(dir, 'huge.jpg');
  writeFileSync(big, Buffer.alloc(65 * 1024 * 1024, 1));
  const from = emu.log().length;
  const bodies: Buffer[] = [];
  page.on('request', (r) => {
    const image = r.method() === 'POST' ? new URLSearchParams(r.postData() ?? '').get('image_base64') : null;
    if (r.url().endsWith('/vision/v2/multipredict') && image !== null) {
      bodies.push(Buffer.from(image, 'base64'));
    }
  });

  await pacer.byId('files').setInputFiles([
    { name: 'wide.png', mimeType: 'image/png', buffer: wide },
    { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture') },
    { name: 'broken.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('JFIF? no, just text') },
    { name: 'tall.png', mimeType: 'image/png', buffer: tall },
  ]);
  await expect(pacer.byId('files-summary')).toContainText('2 files ready');
  await expect(pacer.byId('notice')).toContainText('2 files were skipped');
  // A second choice adds to the first (Playwright cannot mix a path, needed
  // for a file this large, with buffers).
  await pacer.byId('files').setInputFiles(big);
  const refused = pacer.byId('files-refused');
  await expect(refused).toContainText('notes.txt: not an image (its type is text/plain)');
  await expect(refused).toContainText('broken.jpg: not an image this browser can read');
  await expect(refused).toContainText('huge.jpg: too large to send (65.0 MB');
  await expect(pacer.byId('notice')).toContainText('1 file was skipped: huge.jpg');
  await expect(pacer.byId('files-summary')).toContainText('2 files ready');
  // Nothing else was disturbed: the run has not started, the URL box is empty.
  await expect(pacer.byId('run-state')).toHaveText('idle');
  await expect(pacer.byId('urls')).toHaveValue('');

  // Two files and one URL in one run.
  await pacer.byId('urls').fill(`${emu.url}/samples/img-0001.jpg`);
  await pacer.byId('start').click();
  await pacer.waitForState('done', 30_000);
  expect(await pacer.number('stat-done')).toBe(3);
  const rows = pacer.byId('result-row');
  await expect(rows).toHaveCount(3);
  await expect(rows.nth(1).locator('.url')).toHaveText('wide.png');
  await expect(rows.nth(2).locator('.url')).toHaveText('tall.png');
  // Their thumbnails are the encoded JPEGs, in the page.
  await expect(rows.nth(1).locator('img.thumb')).toHaveAttribute('src', /^blob:/);

  // The emulator got two POSTs with base64 bodies, each answered once.
  const sent = posts(from);
  expect(sent).toHaveLength(2);
  expect(sent.every((l) => l.status === 200 && l.image.startsWith('base64:'))).toBe(true);
  expect(new Set(sent.map((l) => l.image)).size).toBe(2);

  // What was sent is a JPEG with its short side at 600 px (never enlarged),
  // read from the POST bodies themselves.
  expect(bodies.map(jpegSize).sort()).toEqual(['480x1200', '800x600']);
  // The details show the image as sent.
  await rows.nth(1).click();
  await expect(page.locator('.detail-figure img')).toHaveAttribute('src', /^blob:/);
  await expect(page.locator('.detail-url')).toHaveText('wide.png');

  // The exports name the files.
  const download = page.waitForEvent('download');
  await pacer.byId('export-csv').click();
  const csv = await (await (await download).createReadStream()).toArray();
  expect(Buffer.concat(csv).toString()).toContain('wide.png');
});

test('a reload mid-run keeps the files: resuming sends only what had not succeeded', async ({ page }) => {
  test.setTimeout(90_000);
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 1, concurrency: 1 });
  const files = [];
  for (let i = 0; i < 5; i++) files.push({ name: `photo-${i}.png`, mimeType: 'image/png', buffer: await png(page, 700 + i * 10, 700) });
  await pacer.byId('files').setInputFiles(files);
  await expect(pacer.byId('files-summary')).toContainText('5 files ready');
  const from = emu.log().length;
  await pacer.byId('start').click();
  await expect.poll(() => pacer.number('stat-done'), { timeout: 15_000 }).toBeGreaterThanOrEqual(2);

  await page.reload();
  await pacer.waitForState('interrupted', 10_000);
  await expect(pacer.byId('result-row')).toHaveCount(5);
  await expect(pacer.byId('result-row').first().locator('img.thumb')).toHaveAttribute('src', /^blob:/);
  // The file names are not put into the URL box.
  await expect(pacer.byId('urls')).toHaveValue('');
  await pacer.byId('resume').click();
  await pacer.waitForState('done', 30_000);
  expect(await pacer.number('stat-done')).toBe(5);

  // Each of the five images answered 200 exactly once.
  const ok = new Map<string, number>();
  for (const l of posts(from).filter((l) => l.status === 200)) ok.set(l.image, (ok.get(l.image) ?? 0) + 1);
  expect(ok.size).toBe(5);
  expect([...ok.values()].every((n) => n === 1)).toBe(true);
});
