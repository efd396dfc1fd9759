// The key goes only where its owner sends it: a remembered key is filled in
// only for the endpoint origin it was given for (a link naming another
// server gets no key, and the page says which server the link chose); the
// key travels in request bodies, never in URLs, so it shows in no console
// message, access log, export, saved run or job file, even with 5xx
// answers or an endpoint whose CORS policy refuses the page; an endpoint
// that refuses POST gets GET, and the page says the key then travels in
// URLs.
import { test, expect, Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { Emulator, keyTag } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';
import { storedText } from '../support/storage';

const CANARY = 'zz-canary-key-K7q2Lw9';
const FAST = ['--limiter', 'fixed-window', '--limit', '20', '--latency-ms', '50'];

let home: Emulator;
let other: Emulator;
let flaky: Emulator;
let noCors: Emulator;
let getOnly: Emulator;

test.beforeAll(async () => {
  [home, other, flaky, noCors, getOnly] = await Promise.all([
    Emulator.start(FAST),
    Emulator.start(FAST),
    Emulator.start([...FAST, '--fail-5xx', '0.3', '--fault-seed', '7']),
    Emulator.start([...FAST, '--no-cors']),
    Emulator.start([...FAST, '--refuse-post']),
  ]);
});
test.afterAll(async () => {
  await Promise.all([home, other, flaky, noCors, getOnly].map((e) => e?.stop()));
});

/** Every console message the page and its workers print (the timer
 * worker makes the sends), whatever its level, and what the browser logs
 * in them: a fetch's network error (a CORS refusal) is such a log entry,
 * not a console call, and Playwright's events carry only the latter, so
 * the workers' logs are read over CDP. */
async function consoleOf(page: Page): Promise<string[]> {
  const seen: string[] = [];
  page.on('console', (m) => seen.push(m.text()));
  page.on('pageerror', (e) => seen.push(String(e)));
  page.on('worker', (w) => w.on('console', (m) => seen.push(`[worker] ${m.text()}`)));
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Log.enable');
  cdp.on('Log.entryAdded', (e) => seen.push(`[log] ${e.entry.text} ${e.entry.url ?? ''}`));
  cdp.on('Target.attachedToTarget', (e) => {
    const message = JSON.stringify({ id: 1, method: 'Log.enable' });
    void cdp.send('Target.sendMessageToTarget', { sessionId: e.sessionId, message }).catch(() => {});
  });
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    const m = JSON.parse(e.message);
    if (m.method === 'Log.entryAdded') seen.push(`[worker log] ${m.params.entry.text} ${m.params.entry.url ?? ''}`);
  });
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  return seen;
}

/** The texts of the CSV and JSON exports and of the exported job file. */
async function downloads(pacer: PacerPage): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const id of ['export-csv', 'export-json', 'export-job']) {
    const [d] = await Promise.all([pacer.page.waitForEvent('download'), pacer.byId(id).click()]);
    out[id] = readFileSync((await d.path())!, 'utf8');
  }
  return out;
}

test('a remembered canary key never reaches a second server named in a link', async ({ page }) => {
  const pacer = new PacerPage(page);
  await pacer.open(home.url);
  await pacer.byId('client-key').fill(CANARY);
  await pacer.byId('remember-key').check();

  // A link that points Pacer at another server: the key stays empty, and the
  // page names the link's server before anything is sent.
  await page.goto(`${home.url}/?endpoint=${encodeURIComponent(other.url)}`);
  await expect(pacer.byId('endpoint')).toHaveValue(other.url);
  await expect(pacer.byId('client-key')).toHaveValue('');
  await expect(pacer.byId('notice')).toContainText(`This link set the endpoint to ${other.url}`);
  await expect(pacer.byId('notice')).toContainText(home.url);
  await pacer.loadSamples(4);
  await pacer.byId('start').click();
  await expect(pacer.byId('notice')).toContainText(/client key/i);
  expect(other.log()).toEqual([]);

  // The user's own key for that server goes there; the canary does not.
  await pacer.byId('client-key').fill('demo-other');
  await pacer.byId('start').click();
  await pacer.waitForState('done', 20_000);
  expect(other.log().length).toBe(4);
  expect(other.log().every((l) => l.key === 'demo-other')).toBe(true);
  expect(readFileSync(other.logPath, 'utf8')).not.toContain(keyTag(CANARY));
  // (Cleared: a saved run would bring its own endpoint back at the next load.)
  await pacer.byId('clear').click();

  // Back on its own server, the remembered key is filled in again (the key
  // typed for the other server is remembered for that one only).
  await page.goto('about:blank');
  await pacer.open(home.url);
  await expect(pacer.byId('client-key')).toHaveValue(CANARY);
  await page.goto('about:blank');
  await pacer.open(home.url, { endpoint: other.url });
  await expect(pacer.byId('client-key')).toHaveValue('demo-other');
});

test('an endpoint with credentials or a key in it is refused with a message', async ({ page }) => {
  const pacer = new PacerPage(page);
  await pacer.open(home.url);
  await pacer.loadSamples(2);
  const port = new URL(home.url).port;
  for (const [endpoint, says] of [
    [`http://u:p@127.0.0.1:${port}`, /user name or password/],
    [`${home.url}/?client_key=${CANARY}`, /client key/],
  ] as const) {
    await pacer.byId('endpoint').fill(endpoint);
    await pacer.byId('start').click();
    await expect(pacer.byId('notice')).toContainText(says);
    await expect(pacer.byId('run-state')).toHaveText('idle');
  }
  expect(home.log()).toEqual([]);
  // Nothing that held the canary was remembered or offered to share.
  expect(await storedText(page, { webStorage: true })).not.toContain(CANARY);
});

for (const kind of ['5xx answers', 'a CORS-refused endpoint'] as const) {
  test(`the canary is in no console message, access log, export, saved run or job file: ${kind}`, async ({ page }) => {
    test.setTimeout(90_000);
    const server = kind === '5xx answers' ? flaky : noCors;
    const seen = await consoleOf(page);
    const pacer = new PacerPage(page);
    // The page from the home emulator, the API on `server`: for the no-CORS
    // one, a page on another origin cannot read its answers.
    await pacer.open(home.url, { endpoint: server.url, rate: 10, concurrency: 4, attempts: 2, timeout: 5 });
    await pacer.byId('client-key').fill(CANARY);
    await pacer.loadSamples(12);
    await pacer.byId('start').click();
    await pacer.waitForState('done', 60_000);
    if (server === flaky) {
      expect(await pacer.number('stat-done')).toBeGreaterThan(0);
      expect(server.log().some((l) => l.status >= 500)).toBe(true);
    } else {
      expect(await pacer.number('stat-failed')).toBe(12);
      // The case this guards did happen: the answers were refused by CORS,
      // and the refusal the browser logged in the timer worker (which
      // makes the sends, the key in their bodies) was read, so the check
      // below covers what it says too. The page's notice says it as well.
      expect(seen.some((t) => t.startsWith('[worker log]') && /CORS policy/.test(t))).toBe(true);
      expect(await pacer.byId('notice').innerText()).toMatch(/its CORS policy/);
    }
    // Every request was a POST: the key in the body, not the URL.
    expect(server.log().length).toBeGreaterThan(0);
    expect(server.log().every((l) => l.method === 'POST')).toBe(true);

    const files = await downloads(pacer);
    for (const [name, text] of Object.entries(files)) {
      expect(text.length, name).toBeGreaterThan(50);
      expect(text, name).not.toContain(CANARY);
    }
    expect(seen.filter((t) => t.includes(CANARY))).toEqual([]);
    expect(readFileSync(server.logPath, 'utf8')).not.toContain(CANARY);
    const stored = await storedText(page);
    expect(stored).toContain('/samples/img-0001.jpg');
    expect(stored).not.toContain(CANARY);
    await expect(pacer.byId('panic-notice')).toHaveCount(0);
  });
}

test('an endpoint that refuses POST is sent GET, and the page says the key is then in URLs', async ({ page }) => {
  const pacer = new PacerPage(page);
  await pacer.open(home.url, { endpoint: getOnly.url, rate: 10, concurrency: 1 });
  await pacer.byId('client-key').fill('demo-get');
  await pacer.loadSamples(5);
  await pacer.byId('start').click();
  await expect(pacer.byId('notice')).toContainText('refused a POST request (HTTP 405)', { timeout: 10_000 });
  await expect(pacer.byId('notice')).toContainText('key travels in each request');
  await pacer.waitForState('done', 20_000);
  expect(await pacer.number('stat-done')).toBe(5);
  expect(await pacer.number('stat-failed')).toBe(0);
  // One refused POST, then every image by GET, the refused one first (sent
  // again at once).
  const log = getOnly.log();
  expect(log[0]).toMatchObject({ method: 'POST', status: 405 });
  expect(log.filter((l) => l.method === 'POST')).toHaveLength(1);
  const gets = log.filter((l) => l.method === 'GET');
  expect(gets).toHaveLength(5);
  expect(gets.every((l) => l.status === 200)).toBe(true);
  expect(gets[0].image).toBe(log[0].image);
  expect(new Set(gets.map((l) => l.image)).size).toBe(5);
});
