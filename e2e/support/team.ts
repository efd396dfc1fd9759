// The team-budget setup of the proxy specs and bench: a redis-server of
// our own on loopback (stopped and restarted by its PID), and real
// pacer-proxy processes (killed and restarted on the same port), each with
// its access log, the way a team would run them on several machines.
import { spawn, ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './emulator';

const PROXY = join(ROOT, 'target', 'release', 'pacer-proxy');

/** A free loopback port (bound, then released). */
export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/** Whether something answers PING on `port` with PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const c = connect(port, '127.0.0.1');
    let out = '';
    c.setTimeout(500, () => { c.destroy(); ok(false); });
    c.on('error', () => ok(false));
    c.on('connect', () => c.write('PING\r\n'));
    c.on('data', (b) => { out += b.toString(); if (out.includes('\r\n')) { c.destroy(); ok(out.startsWith('+PONG')); } });
  });
}

export class Redis {
  private proc: ChildProcess | undefined;
  private constructor(public port: number) {}

  get url(): string { return `redis://127.0.0.1:${this.port}`; }

  /** A redis-server of our own on a free loopback port. */
  static async start(): Promise<Redis> {
    const r = new Redis(await freePort());
    await r.restart();
    return r;
  }

  /** Starts it (again) on its port. */
  async restart(): Promise<void> {
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' });
    const failed = new Promise<never>((_, fail) => this.proc!.once('error', (e) => fail(new Error(
      `these specs need redis-server (apt-get install redis-server; scripts/test.sh installs it): ${e.message}`))));
    const up = (async () => {
      for (let i = 0; i < 100; i++) {
        if (await ping(this.port)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('redis-server did not answer PING');
    })();
    await Promise.race([up, failed]);
  }

  /** Stops it by its PID. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (p && p.exitCode === null) {
      p.kill('SIGKILL');
      await new Promise((r) => p.once('exit', r));
    }
  }
}

export interface ProxyLine {
  arrival_ms: number; end_ms: number; method: string; key: string; image: string;
  status: number; latency_ms: number; fault?: string | null; hold_ms?: number; budget?: string;
}

export class Proxy {
  private proc: ChildProcess | undefined;
  public url = '';
  public logPath: string;
  /** Everything the process wrote, both streams. */
  public output = '';

  constructor(private args: string[], private port = 0) {
    this.logPath = join(mkdtempSync(join(tmpdir(), 'pacer-proxy-')), 'access.jsonl');
  }

  /** Starts `pacer-proxy` (on the same port as before, after a kill). */
  async start(): Promise<void> {
    if (!existsSync(PROXY)) throw new Error(`build the proxy first: ${PROXY} is missing`);
    const full = ['--port', String(this.port), '--dist', process.env.PACER_DIST ?? join(ROOT, 'dist'),
      '--access-log', this.logPath, ...this.args];
    const proc = spawn(PROXY, full, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.url = await new Promise<string>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`pacer-proxy did not start: ${this.output}`)), 15_000);
      proc.stdout!.on('data', (b: Buffer) => {
        this.output += b.toString();
        const url = this.output.match(/listening on (http:\/\/[^\s]+)/)?.[1];
        if (url) { clearTimeout(timer); ok(url.replace(/\/$/, '')); }
      });
      proc.stderr!.on('data', (b: Buffer) => { this.output += b.toString(); });
      proc.on('exit', (code) => fail(new Error(`pacer-proxy exited (${code}): ${this.output}`)));
    });
    this.port = Number(new URL(this.url).port);
  }

  /** Kills it at once (SIGKILL: no goodbye to its connections). */
  async kill(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (p && p.exitCode === null) {
      p.kill('SIGKILL');
      await new Promise((r) => p.once('exit', r));
    }
  }

  log(): ProxyLine[] {
    if (!existsSync(this.logPath)) return [];
    return readFileSync(this.logPath, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  }
}

/** The most requests that arrived within any one second (sliding window). */
export function busiestSecond(arrivals: number[]): number {
  const a = [...arrivals].sort((x, y) => x - y);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < a.length; hi++) {
    while (a[hi] - a[lo] >= 1000) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/** The p-quantile of `xs` (nearest rank). */
export function quantile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
}
