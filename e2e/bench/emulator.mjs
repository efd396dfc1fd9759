// Spawns a fresh pacer-emulator on free loopback ports (http and https/h2)
// with its own access log, the way e2e/support/emulator.ts does, and reads
// the log back as ground truth.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// Emulators still running; killed if the bench exits or is interrupted.
const live = new Set();
process.once('exit', () => { for (const p of live) p.kill('SIGKILL'); });
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(130));

/** Starts the emulator; resolves once both listening lines are printed. */
export async function startEmulator({ binary, dist, logPath, args }) {
  if (!existsSync(binary)) throw new Error(`build the emulator first: ${binary} is missing`);
  if (!existsSync(join(dist, 'index.html'))) throw new Error(`build the page first: ${dist} is empty`);
  const full = ['--port', '0', '--tls-port', '0', '--dist', dist, '--access-log', logPath, ...args];
  const proc = spawn(binary, full, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  let out = '';
  const urls = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`emulator did not start: ${out}`)), 15_000);
    const check = () => {
      const http = out.match(/listening on (http:\/\/\S+)/)?.[1];
      const https = out.match(/listening on (https:\/\/\S+)/)?.[1];
      if (http && https) {
        clearTimeout(timer);
        ok({ http: http.replace(/\/$/, ''), https: https.replace(/\/$/, '') });
      }
    };
    proc.stdout.on('data', (b) => { out += b.toString(); check(); });
    proc.stderr.on('data', (b) => { out += b.toString(); });
    proc.once('exit', (code) => { clearTimeout(timer); fail(new Error(`emulator exited (${code}): ${out}`)); });
  });
  return {
    ...urls,
    args: full,
    output: () => out,
    log: () => readLog(logPath),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Every API request of the access log, in log order. */
export function readLog(logPath) {
  if (!existsSync(logPath)) return [];
  return readFileSync(logPath, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}
