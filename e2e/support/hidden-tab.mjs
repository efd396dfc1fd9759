// A really hidden Pacer tab, for the hidden-tab spec and the bench.
//
// Playwright cannot hide a page (TOOLCHAIN.md, "Hidden tabs are hard to
// reproduce"): its launch flags switch background throttling off, and even
// attaching it over CDP makes the page visible again. What works with
// Chromium 156: launch it directly (headless=new, no anti-throttling flags)
// with the page as its first tab, then open a second tab through
// `PUT /json/new`: the first one turns `document.visibilityState ===
// 'hidden'` and its main-thread timers run once a second (once a minute
// after 5 minutes). So the page is driven here over RAW CDP only
// (Runtime.evaluate on the target's own websocket), through the data-testid
// interface (docs/ARCHITECTURE.md), and `plainTimerRate` proves the throttling with
// a plain setTimeout chain before anything is concluded from it.
//
// Plain ESM JavaScript, so that both the Playwright spec (TypeScript) and the
// bench (.mjs) can import it. Every wait is on Node's timers, never the page's.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Launch flags: TOOLCHAIN.md's quiet-network set, and none of the flags that
 * switch background throttling off (`--disable-background-timer-throttling`,
 * `--disable-renderer-backgrounding`, `--disable-backgrounding-occluded-windows`).
 */
export const HIDDEN_TAB_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
  '--no-first-run', '--no-default-browser-check', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--ignore-certificate-errors',
  '--window-size=1400,1000',
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Browsers still running; killed if the process exits without closing them.
const live = new Set();
process.once('exit', () => { for (const p of live) { try { p.kill('SIGKILL'); } catch { /* gone */ } } });

/** A minimal CDP client over one websocket: send, evaluate, events, close. */
export class RawCdp {
  constructor(ws) {
    this.ws = ws;
    this.nextId = 0;
    this.pending = new Map();
    this.listeners = new Map();
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.id !== undefined && this.pending.has(msg.id)) {
        const { ok, fail, method } = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) fail(new Error(`${method}: ${msg.error.message}`));
        else ok(msg.result);
      } else if (msg.method) {
        for (const fn of this.listeners.get(msg.method) ?? []) fn(msg.params);
      }
    });
    ws.on('close', () => {
      for (const { fail, method } of this.pending.values()) fail(new Error(`${method}: CDP socket closed`));
      this.pending.clear();
    });
  }

  static async connect(url) {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await new Promise((ok, fail) => { ws.once('open', ok); ws.once('error', fail); });
    return new RawCdp(ws);
  }

  send(method, params = {}, timeoutMs = 30_000) {
    return new Promise((ok, fail) => {
      const id = ++this.nextId;
      const timer = setTimeout(() => { this.pending.delete(id); fail(new Error(`${method}: no answer in ${timeoutMs} ms`)); }, timeoutMs);
      this.pending.set(id, {
        method,
        ok: (v) => { clearTimeout(timer); ok(v); },
        fail: (e) => { clearTimeout(timer); fail(e); },
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Evaluates `expression` in the page and returns its value (JSON-able); throws on a page exception. */
  async evaluate(expression, { awaitPromise = false } = {}) {
    const r = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise });
    if (r.exceptionDetails) {
      const d = r.exceptionDetails;
      throw new Error(`page threw: ${d.exception?.description ?? d.text}`);
    }
    return r.result.value;
  }

  on(method, fn) {
    if (!this.listeners.has(method)) this.listeners.set(method, []);
    this.listeners.get(method).push(fn);
  }

  close() {
    try { this.ws.close(); } catch { /* already closed */ }
  }
}

/**
 * Launches Chromium directly with `url` as its only tab, on a free debugging
 * port (`--remote-debugging-port=0`, read back from DevToolsActivePort) and a
 * temp profile. Resolves to { proc, port, http, version, close() }.
 */
export async function launchChromium(url, { extraArgs = [] } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'pacer-hidden-profile-'));
  const args = [...HIDDEN_TAB_ARGS, ...extraArgs, '--remote-debugging-port=0', `--user-data-dir=${profile}`, url];
  const proc = spawn(CHROMIUM_PATH, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(proc);
  let err = '';
  proc.stderr.on('data', (b) => { err = (err + b.toString()).slice(-4000); });
  const exited = new Promise((r) => proc.once('exit', r));
  const close = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(t);
    }
    live.delete(proc);
    // Its helpers may still be writing to the profile for a moment.
    try { rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }); } catch { /* left in tmp */ }
  };
  try {
    let port = 0;
    for (let waited = 0; !port; waited += 100) {
      if (proc.exitCode !== null) throw new Error(`chromium exited (${proc.exitCode}): ${err}`);
      if (waited > 20_000) throw new Error(`chromium printed no debugging port in 20 s: ${err}`);
      try { port = Number(readFileSync(join(profile, 'DevToolsActivePort'), 'utf8').split('\n')[0]); } catch { /* not yet */ }
      if (!port) await sleep(100);
    }
    const http = `http://127.0.0.1:${port}`;
    const version = await (await fetch(`${http}/json/version`)).json();
    return { proc, port, http, version: version.Browser?.replace(/^.*\//, ''), browserWs: version.webSocketDebuggerUrl, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The page testids whose text is a number. */
export const STAT_IDS = ['stat-done', 'stat-failed', 'stat-queued', 'stat-429',
  'stat-throughput', 'stat-latency-avg', 'stat-latency-p95'];

const q = (testid) => `document.querySelector('[data-testid="${testid}"]')`;

/**
 * One Pacer page in its own directly launched Chromium, driven over raw CDP.
 * Always `close()` it in a finally: that kills the browser.
 */
export class HiddenTab {
  constructor(browser, cdp, target) {
    this.browser = browser;
    this.cdp = cdp;
    this.target = target;
    this.otherTargets = [];
    this.consoleErrors = [];
  }

  /** Launches Chromium on `url`, attaches raw CDP to that tab and waits for it to load. */
  static async open(url, opts = {}) {
    const browser = await launchChromium(url, opts);
    let cdp;
    try {
      let target;
      for (let waited = 0; !target; waited += 100) {
        if (waited > 15_000) throw new Error(`no page target for ${url}`);
        const list = await (await fetch(`${browser.http}/json/list`)).json();
        target = list.find((t) => t.type === 'page' && t.url.startsWith(url.split('?')[0]));
        if (!target) await sleep(100);
      }
      cdp = await RawCdp.connect(target.webSocketDebuggerUrl);
      const tab = new HiddenTab(browser, cdp, target);
      cdp.on('Runtime.exceptionThrown', (p) => tab.consoleErrors.push(p.exceptionDetails?.exception?.description ?? p.exceptionDetails?.text ?? 'exception'));
      cdp.on('Runtime.consoleAPICalled', (p) => {
        if (p.type === 'error') tab.consoleErrors.push(p.args.map((a) => a.value ?? a.description ?? '').join(' '));
      });
      await cdp.send('Runtime.enable');
      await tab.waitFor(`document.readyState === 'complete' && !!${q('run-state')}`, 20_000, 'the page to mount');
      await tab.evaluate(`(() => { window.__pacerVisibility = [];
        document.addEventListener('visibilitychange', () => window.__pacerVisibility.push([Date.now(), document.visibilityState])); })()`);
      return tab;
    } catch (e) {
      cdp?.close();
      await browser.close();
      throw e;
    }
  }

  get version() { return this.browser.version; }

  evaluate(expression) { return this.cdp.evaluate(expression); }

  /** Polls `expression` (from Node, every `pollMs`) until it is truthy; returns its value. */
  async waitFor(expression, timeoutMs, what = expression, pollMs = 250) {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await this.evaluate(expression).catch(() => undefined);
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
      await sleep(pollMs);
    }
  }

  async text(testid) {
    return this.evaluate(`(${q(testid)}?.textContent ?? '').trim()`);
  }

  async runState() { return this.text('run-state'); }

  async waitForState(state, timeoutMs = 90_000) {
    await this.waitFor(`(${q('run-state')}?.textContent ?? '').trim() === ${JSON.stringify(state)}`,
      timeoutMs, `run-state "${state}" (now "${await this.runState().catch(() => '?')}")`);
  }

  /** Sets an input's value the way typing does (Leptos reads `event.target.value` on `input`). */
  async fill(testid, value) {
    await this.evaluate(`(() => { const el = ${q(testid)}; if (!el) throw new Error('no ${testid}');
      el.value = ${JSON.stringify(String(value))}; el.dispatchEvent(new Event('input', { bubbles: true })); })()`);
  }

  async click(testid) {
    await this.evaluate(`(() => { const el = ${q(testid)}; if (!el) throw new Error('no ${testid}');
      if (el.disabled) throw new Error('${testid} is disabled'); el.click(); })()`);
  }

  async isEnabled(testid) {
    return this.evaluate(`(() => { const el = ${q(testid)}; return !!el && !el.disabled; })()`);
  }

  /** Types `count` into sample-count, clicks load-samples and waits for start to be enabled. */
  async loadSamples(count) {
    await this.fill('sample-count', count);
    await this.click('load-samples');
    await this.waitFor(`(() => { const el = ${q('start')}; return !!el && !el.disabled; })()`, 10_000, 'start to be enabled');
  }

  /** Clicks start and waits until the run has left `idle`. */
  async start() {
    await this.click('start');
    await this.waitFor(`(${q('run-state')}?.textContent ?? '').trim() !== 'idle'`, 5_000, 'the run to start');
  }

  /** Every stat-* tile as a number (NaN when missing or not a number). */
  async stats() {
    return this.evaluate(`(() => { const out = {};
      for (const id of ${JSON.stringify(STAT_IDS)}) {
        const el = document.querySelector('[data-testid="' + id + '"]');
        const t = (el?.textContent ?? '').trim();
        out[id] = t === '' ? null : Number(t);
      }
      return out; })()`).then((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v ?? NaN])));
  }

  async notice() {
    return this.evaluate(`[...document.querySelectorAll('[data-testid="notice"]')].map((e) => e.textContent.trim()).filter(Boolean).join(' | ')`);
  }

  async visibility() { return this.evaluate('document.visibilityState'); }

  /** Every visibilitychange since the page was opened, as [Date.now(), state]. */
  async visibilityChanges() { return this.evaluate('window.__pacerVisibility ?? []'); }

  /**
   * Hides the page: opens a second tab in front of it, then checks the page
   * says `hidden`. Returns the time it was seen hidden.
   */
  async hide() {
    const r = await fetch(`${this.browser.http}/json/new?about:blank`, { method: 'PUT' });
    if (!r.ok) throw new Error(`PUT /json/new: ${r.status}`);
    this.otherTargets.push((await r.json()).id);
    await this.waitFor(`document.visibilityState === 'hidden'`, 5_000, 'the page to be hidden', 100);
    return Date.now();
  }

  /**
   * Brings the page back to the front (/json/activate) and checks it says
   * `visible`. Returns the time the activation was asked for (the end of
   * the hidden span).
   */
  async show() {
    const t = Date.now();
    const r = await fetch(`${this.browser.http}/json/activate/${this.target.id}`);
    if (!r.ok) throw new Error(`/json/activate: ${r.status}`);
    await this.waitFor(`document.visibilityState === 'visible'`, 5_000, 'the page to be visible', 100);
    return t;
  }

  /**
   * Starts a plain 100 ms setTimeout chain in the page (main thread, nothing
   * else) that stamps each tick with Date.now(); `plainTicks()` reads them.
   */
  async startPlainTimer(name = 'plain') {
    await this.evaluate(`(() => { const p = (window.__pacerProbes ??= {});
      if (p[${JSON.stringify(name)}]) return;
      const probe = { ticks: [], stop: false }; p[${JSON.stringify(name)}] = probe;
      const loop = () => { if (probe.stop) return; probe.ticks.push(Date.now()); setTimeout(loop, 100); };
      setTimeout(loop, 100); })()`);
  }

  /** The chain's tick stamps (Date.now()), and stops it when `stop`. */
  async plainTicks(name = 'plain', { stop = false } = {}) {
    return this.evaluate(`(() => { const p = window.__pacerProbes?.[${JSON.stringify(name)}];
      if (!p) return [];
      if (${stop}) { p.stop = true; delete window.__pacerProbes[${JSON.stringify(name)}]; }
      return p.ticks; })()`);
  }

  /**
   * Ticks per second of a fresh plain 100 ms setTimeout chain over `ms`
   * (measured on Node's clock): ~10 in a visible tab, ~1 in a hidden one,
   * less still after 5 minutes hidden. Returns { perSecond, ticks, ms, visibility }.
   */
  async plainTimerRate(ms = 5_000) {
    const name = `rate-${Date.now()}`;
    const t0 = Date.now();
    await this.startPlainTimer(name);
    await sleep(ms);
    const t1 = Date.now();
    const visibility = await this.visibility();
    const ticks = (await this.plainTicks(name, { stop: true })).filter((t) => t >= t0 && t <= t1);
    return { perSecond: ticks.length / ((t1 - t0) / 1000), ticks: ticks.length, ms: t1 - t0, visibility };
  }

  /**
   * Clicks export-json and returns the downloaded file's path and parsed
   * JSON (downloads go to `dir` through Browser.setDownloadBehavior).
   */
  async exportJson(dir, timeoutMs = 15_000) {
    const browser = await RawCdp.connect(this.browser.browserWs);
    try {
      await browser.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dir });
      const before = new Set(readdirSync(dir));
      await this.click('export-json');
      const end = Date.now() + timeoutMs;
      for (;;) {
        const fresh = readdirSync(dir).filter((f) => !before.has(f) && f.endsWith('.json'));
        if (fresh.length) {
          const path = join(dir, fresh[0]);
          const size = statSync(path).size;
          await sleep(200);
          if (statSync(path).size === size && size > 0) {
            return { filename: fresh[0], path, data: JSON.parse(readFileSync(path, 'utf8')) };
          }
        }
        if (Date.now() > end) throw new Error(`no export-json download in ${timeoutMs / 1000} s`);
        await sleep(200);
      }
    } finally {
      browser.close();
    }
  }

  /** Closes the socket and kills the browser (removing its profile). */
  async close() {
    this.cdp.close();
    await this.browser.close();
  }
}

/** Opens `url` in a HiddenTab, runs `fn(tab)` and always kills the browser. */
export async function withHiddenTab(url, fn, opts = {}) {
  const tab = await HiddenTab.open(url, opts);
  try {
    return await fn(tab);
  } finally {
    await tab.close();
  }
}
