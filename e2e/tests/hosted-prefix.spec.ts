// The release build hosted statically: a copy of dist/ served under /pacer/
// by a plain static file server (node's http module: files only, no SPA
// fallback, no API) on another origin than the emulator, as any web host
// would. The page must load every asset through its relative URLs, start its
// timer worker, and run against a real emulator given by ?endpoint=.
import { test, expect, Page } from '@playwright/test';
import { createServer, Server } from 'node:http';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { AddressInfo } from 'node:net';
import { Emulator, ROOT } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';

const PREFIX = '/pacer/';
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
};

/** A static server of `root` on a free loopback port; records each request's path and status. */
class StaticHost {
  readonly seen: { path: string; status: number }[] = [];
  private constructor(private server: Server, readonly url: string) {}

  static async start(root: string): Promise<StaticHost> {
    let host: StaticHost;
    const server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const send = (status: number, headers: Record<string, string>, body?: Buffer | string) => {
        host.seen.push({ path, status });
        res.writeHead(status, headers).end(body);
      };
      let file = normalize(join(root, path));
      if (file !== root && !file.startsWith(root + sep)) return send(403, {}, 'forbidden');
      try {
        if (statSync(file).isDirectory()) {
          // As nginx or http-server: a directory without its slash is
          // redirected, so that relative URLs resolve inside it.
          if (!path.endsWith('/')) return send(301, { location: `${path}/` });
          file = join(file, 'index.html');
        }
        const body = readFileSync(file);
        send(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }, body);
      } catch {
        send(404, { 'content-type': 'text/plain' }, 'not found');
      }
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const { port } = server.address() as AddressInfo;
    host = new StaticHost(server, `http://127.0.0.1:${port}`);
    return host;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

/** What a test must see of the page: failed or 4xx/5xx responses, console errors, CSP violations. */
async function watch(page: Page) {
  const bad: string[] = [];
  const console: { type: string; text: string }[] = [];
  const pageErrors: string[] = [];
  page.on('response', (r) => {
    if (r.status() >= 400) bad.push(`${r.status()} ${r.url()}`);
  });
  page.on('requestfailed', (r) => bad.push(`failed ${r.url()}: ${r.failure()?.errorText}`));
  page.on('console', (m) => console.push({ type: m.type(), text: m.text() }));
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.addInitScript(() => {
    const seen: unknown[] = [];
    (window as unknown as { __csp: unknown[] }).__csp = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.effectiveDirective} ${e.blockedURI}`));
  });
  const violations = () => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);
  return { bad, console, pageErrors, violations };
}

let emu: Emulator;
let site: StaticHost;
let siteRoot: string;

test.beforeAll(async () => {
  const dist = process.env.PACER_DIST ?? join(ROOT, 'dist');
  siteRoot = mkdtempSync(join(tmpdir(), 'pacer-hosted-'));
  cpSync(dist, join(siteRoot, PREFIX), { recursive: true });
  site = await StaticHost.start(siteRoot);
  emu = await Emulator.start(['--limiter', 'fixed-window', '--limit', '5', '--latency-ms', '200']);
});
test.afterAll(async () => {
  await emu?.stop();
  await site?.stop();
  if (siteRoot) rmSync(siteRoot, { recursive: true, force: true });
});

test('dist/ under /pacer/ on a static host: assets load, the worker paces, 10 images at 5/s all done', async ({ page }) => {
  const w = await watch(page);
  const pacer = new PacerPage(page);
  await pacer.open(`${site.url}${PREFIX.replace(/\/$/, '')}`, { endpoint: emu.url, rate: 5, concurrency: 4 });
  await expect(pacer.byId('endpoint')).toHaveValue(emu.url);
  // The emulator takes any key; a page it did not serve fills in none.
  await pacer.byId('client-key').fill('hosted-key');
  await pacer.loadSamples(10);
  await pacer.byId('start').click();
  await pacer.waitForState('done', 30_000);

  expect(await pacer.number('stat-done')).toBe(10);
  expect(await pacer.number('stat-failed')).toBe(0);
  expect(await pacer.number('stat-429')).toBe(0);
  await expect(page.locator('[data-testid="result-row"][data-state="done"]')).toHaveCount(10);

  // The API calls went to the emulator, paced at 5/s (1.8 s for 10 sends at
  // the least), and none of them to the static host.
  const log = emu.log();
  expect(log.filter((l) => l.status === 200)).toHaveLength(10);
  expect(log.filter((l) => l.status === 429)).toHaveLength(0);
  const arrivals = log.map((l) => l.arrival_ms).sort((a, b) => a - b);
  expect(arrivals[arrivals.length - 1] - arrivals[0]).toBeGreaterThanOrEqual(1_700);

  // Every asset came from under the prefix: nothing asked for at the host's
  // root (an absolute /pacer-….js would be), nothing missing.
  expect(w.bad).toEqual([]);
  const paths = site.seen.map((s) => s.path);
  expect(paths).toEqual(expect.arrayContaining([PREFIX, expect.stringMatching(/\.wasm$/), expect.stringMatching(/\.js$/), expect.stringMatching(/\.css$/)]));
  expect(paths.filter((p) => !p.startsWith(PREFIX))).toEqual([]);
  expect(site.seen.filter((s) => s.status !== 200)).toEqual([]);

  // The timer worker (a blob: URL, allowed by the CSP's worker-src) ran the
  // pacer's sleeps; no CSP violation, page error or console error.
  expect(page.workers().map((wk) => wk.url())).toContainEqual(expect.stringMatching(/^blob:/));
  expect(w.console.filter((m) => /no timer worker/i.test(m.text))).toEqual([]);
  expect(w.console.filter((m) => m.type === 'error')).toEqual([]);
  expect(w.pageErrors).toEqual([]);
  expect(await w.violations()).toEqual([]);
});

test('a static host is not taken for the API: without ?endpoint= the endpoint is empty, the local preset the emulator', async ({ page }) => {
  const w = await watch(page);
  const pacer = new PacerPage(page);
  await pacer.open(`${site.url}${PREFIX.replace(/\/$/, '')}`);
  await expect(pacer.byId('endpoint')).toHaveValue('');
  await expect(pacer.byId('client-key')).toHaveValue('');
  await page.getByLabel('Endpoint preset').selectOption('local');
  await expect(pacer.byId('endpoint')).toHaveValue('http://127.0.0.1:8080');
  await expect(pacer.byId('client-key')).toHaveValue('demo-key');
  expect(w.bad).toEqual([]);
  expect(w.console.filter((m) => m.type === 'error')).toEqual([]);
});
