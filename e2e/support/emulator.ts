// Starts a real pacer-emulator on a free loopback port for one spec, with
// its access log in a temp file, and reads that log back as ground truth.
// It serves dist/ (or PACER_DIST, e.g. a saved build to compare against).
import { spawn, ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');
/**
 * Where the specs put the pictures they take of the page: under the ignored
 * test-results/ on a test run, and docs/ (the README's pictures) only when
 * scripts/screenshots.sh asks for them, so a test run rewrites no tracked file.
 */
export const SCREENSHOTS = process.env.PACER_SCREENSHOTS ?? join(ROOT, 'e2e', 'test-results', 'screenshots');
const BINARY = join(ROOT, 'target', 'release', 'pacer-emulator');

/**
 * The access log's `key` for a key (emulator/src/access_log.rs `key_tag`):
 * demo keys as sent, any other as `sha256:` and 16 hex digits, so a log
 * never holds a real key.
 */
export function keyTag(key: string): string {
  if (key === '' || key.startsWith('demo')) return key;
  return `sha256:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

export interface LogLine {
  arrival_ms: number;
  end_ms: number;
  method: string;
  /** See {@link keyTag}. */
  key: string;
  image: string;
  models: string;
  /** 0 when nothing was sent (a dropped or abandoned answer). */
  status: number;
  latency_ms: number;
  /** The injected fault, if any: "5xx", "drop", "slow", "bad-json". */
  fault?: string | null;
}

/** A real success: a 200 whose body was the contract's JSON. */
export const isGood = (l: LogLine): boolean => l.status === 200 && l.fault !== 'bad-json';

/**
 * The fault mix of the fault journeys (seeded by the caller's `--fault-seed`): of the
 * answers the limiter lets through, 10 % are a 5xx, 5 % are dropped, 5 %
 * come after 6 s (past a 3 s page timeout) and 2 % are broken JSON.
 */
export const FAULT_MIX = [
  '--fail-5xx', '0.1', '--drop', '0.05', '--slow', '0.05', '--slow-ms', '6000', '--bad-json', '0.02',
];

export class Emulator {
  private constructor(
    private proc: ChildProcess,
    /** http://127.0.0.1:PORT */
    public url: string,
    /** https://127.0.0.1:PORT when started with TLS. */
    public tlsUrl: string | undefined,
    public logPath: string,
  ) {}

  /** Starts the emulator with `args` (e.g. ['--limiter','fixed-window','--limit','8']). */
  static async start(args: string[], opts: { tls?: boolean } = {}): Promise<Emulator> {
    if (!existsSync(BINARY)) throw new Error(`build the emulator first: ${BINARY} is missing`);
    const dir = mkdtempSync(join(tmpdir(), 'pacer-e2e-'));
    const logPath = join(dir, 'access.jsonl');
    const full = ['--port', '0', '--dist', process.env.PACER_DIST ?? join(ROOT, 'dist'), '--access-log', logPath, ...args];
    if (opts.tls) full.push('--tls-port', '0');
    const proc = spawn(BINARY, full, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const urls = await new Promise<{ http: string; https?: string }>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`emulator did not start: ${out}`)), 15_000);
      const onData = (b: Buffer) => {
        out += b.toString();
        const http = out.match(/listening on (http:\/\/[^\s]+)/)?.[1];
        const https = out.match(/listening on (https:\/\/[^\s]+)/)?.[1];
        if (http && (!opts.tls || https)) {
          clearTimeout(timer);
          ok({ http: http.replace(/\/$/, ''), https: https?.replace(/\/$/, '') });
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
      proc.on('exit', (code) => fail(new Error(`emulator exited (${code}): ${out}`)));
    });
    return new Emulator(proc, urls.http, urls.https, logPath);
  }

  /** Every API request the emulator saw, in log order. */
  log(): LogLine[] {
    if (!existsSync(this.logPath)) return [];
    return readFileSync(this.logPath, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as LogLine);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) {
      this.proc.kill('SIGTERM');
      await new Promise((r) => this.proc.once('exit', r));
    }
  }
}

/** The original client's throughput: successes ÷ (last success end − first success send). */
export function logThroughput(lines: LogLine[]): number {
  const ok = lines.filter(isGood);
  if (ok.length === 0) return 0;
  const first = Math.min(...ok.map((l) => l.arrival_ms));
  const last = Math.max(...ok.map((l) => l.end_ms));
  return ok.length / ((last - first) / 1000);
}
