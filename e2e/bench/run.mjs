#!/usr/bin/env node
// Pacer's bench: for each cell, a fresh emulator (own access log, https/h2,
// the cell's limiter, rate and latency) and a fresh headless Chromium run the
// page over a batch of sample images; the figures come from the access log
// (ground truth) and the page's JSON export. Prints a table and writes
// bench-results/bench-<UTC stamp>.{md,json} and bench-results/latest.md.
//
//   node e2e/bench/run.mjs [--only ID[,ID…]] [--quick] [--check] [--list] [--keep-raw] [--out DIR] [--dist DIR]
//
// With --check it exits 1 when a cell it ran is below its targets (or could
// not be judged): a gate for a quiet machine, not for a loaded CI box.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allCells, KEY_CELLS, selectCells, TEAM } from './cells.mjs';
import { runTeamCell, teamMarkdown, teamVerdict } from './team.mjs';
import { driveHiddenPage, drivePage } from './drive.mjs';
import { driveTabs } from './multitab.mjs';
import { startEmulator } from './emulator.mjs';
import { cellFigures } from './figures.mjs';
import { markdown, row, writeReports } from './report.mjs';
import { budgetsMarkdown, runBudgets } from './budgets.mjs';
import { firstLoad, firstLoadRows } from './first-load.mjs';
import { millionItems, millionMarkdown, runMillion } from './million.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const USAGE = `usage: node e2e/bench/run.mjs [options]
  --only P[,P…]  run the cells whose id contains any P (repeatable), e.g. --only gcra-b0 or --only fw-r4-n60
  --only multitab  the multi-tab cells only (2 and 3 tabs sharing 10/s, and the leader-handover gap)
  --only first-load  the first load only: the page served gzipped by a plain static server,
                 usable within 2.5 s on Slow 4G with the CPU slowed 4×, 1 s unthrottled
                 (median of 5 cold loads each), with the gzip and brotli sizes
  --only team     the team-budget cells only (2 and 4 pacer-proxy sharing 10/s through one Redis)
  --only budgets the page's budgets only (size, first render, 100 000 pasted, heap and
                 scroll with 100 000 done rows; ~6 min); a full run ends with them too
  --only million a very long run, never part of the default set: PACER_MILLION_N URLs (default
                 1 000 000; at 250/s that is over an hour) pasted, sent at 250/s with 50 ms latency,
                 memory (JS heap + array buffers) sampled all along (< 300 MB), a reload half-way
                 resumed (< 5 s, the page drawing meanwhile), both exports timed
  --quick        short cells (rate 4 × 20 images, rate 10 × 40 images); no extra cells
                 (the hidden-tab cell alone takes ~7 minutes: --only hidden)
  --check        exit 1 when any cell run (or budget measured) misses its target or cannot be
                 judged; without --only it runs the key cells: ${KEY_CELLS.join(", ")}, team-2proxies-r10 and the first load
  --list         print the cell ids and exit
  --keep-raw     copy each cell's access log and export to bench-results/raw-<stamp>/
  --out DIR      results folder (default bench-results/ at the repo root)
  --dist DIR     the built page to serve (default dist/); it is copied once at the start,
                 so a rebuild of dist/ during the bench does not mix builds`;

function parseArgs(argv) {
  const o = { only: [], quick: false, check: false, list: false, keepRaw: false, out: join(ROOT, 'bench-results'), dist: join(ROOT, 'dist') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => { if (i + 1 >= argv.length) throw new Error(`${a} needs a value`); return argv[++i]; };
    if (a === '--only') o.only.push(...value().split(',').filter(Boolean));
    else if (a.startsWith('--only=')) o.only.push(...a.slice(7).split(',').filter(Boolean));
    else if (a === '--quick') o.quick = true;
    else if (a === '--check') o.check = true;
    else if (a === '--list') o.list = true;
    else if (a === '--keep-raw') o.keepRaw = true;
    else if (a === '--out') o.out = resolve(value());
    else if (a === '--dist') o.dist = resolve(value());
    else if (a === '-h' || a === '--help') { console.log(USAGE); process.exit(0); }
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  return o;
}

const git = (...args) => { try { return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim(); } catch { return '?'; } };

/** Copies the built page to a private folder; names it by its wasm file and hash. */
function snapshotDist(dist) {
  const files = (() => { try { return readdirSync(dist); } catch { return []; } })();
  const wasm = files.find((f) => f.endsWith('.wasm'));
  if (!wasm || !files.includes('index.html')) throw new Error(`no built page in ${dist} (run: source scripts/env.sh && build_all)`);
  const dir = mkdtempSync(join(tmpdir(), 'pacer-bench-dist-'));
  cpSync(dist, dir, { recursive: true });
  const sha = createHash('sha256').update(readFileSync(join(dir, wasm))).digest('hex').slice(0, 12);
  return { dir, source: dist, wasm, sha };
}

async function runCell(cell, dist, rawDir) {
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), `pacer-bench-${cell.id}-`));
  const logPath = join(dir, 'access.jsonl');
  const result = { cell: { ...cell, limiter: { ...cell.limiter } } };
  let emu;
  try {
    emu = await startEmulator({
      binary: join(ROOT, 'target', 'release', 'pacer-emulator'),
      dist,
      logPath,
      args: [...cell.limiter.args, '--limit', String(cell.rate), '--latency-ms', String(cell.latencyMs), ...(cell.emulatorArgs ?? [])],
    });
    result.emulatorArgs = emu.args;
    const expectedMs = (cell.images / cell.rate) * 1000 + cell.latencyMs;
    const drive = cell.kind === 'hidden' ? driveHiddenPage : cell.kind === 'multitab' ? driveTabs : drivePage;
    const page = await drive({
      origin: emu.https, rate: cell.pageRate ?? cell.rate, query: cell.query ?? {},
      concurrency: cell.concurrency, images: cell.images,
      timeoutMs: cell.runTimeoutMs ?? Math.max(60_000, 3 * expectedMs + 30_000), downloadDir: dir,
      hideAfterMs: cell.hideAfterMs, hiddenMs: cell.hiddenMs,
      ...(cell.kind === 'multitab' ? { tabs: cell.tabs, images: cell.images / cell.tabs, closeLeaderAfterMs: cell.closeLeaderAfterMs } : {}),
    });
    // The report keeps each export's file name, not its contents (figures get the whole page).
    const fileOnly = (x) => (x ? { filename: x.filename } : null);
    result.page = { ...page, export: fileOnly(page.export), ...(page.tabs ? { tabs: page.tabs.map((t) => ({ ...t, export: fileOnly(t.export) })) } : {}) };
    await new Promise((r) => setTimeout(r, 300)); // let the last log lines land
    await emu.stop();
    result.figures = cellFigures({ ...cell, strict: cell.limiter.strict }, emu.log(), page, page.export?.data ?? null);
  } catch (e) {
    result.error = String(e?.message ?? e).split('\n')[0];
  } finally {
    await emu?.stop().catch(() => {});
    if (rawDir) { mkdirSync(join(rawDir, cell.id), { recursive: true }); for (const f of readdirSync(dir)) cpSync(join(dir, f), join(rawDir, cell.id, f)); }
    rmSync(dir, { recursive: true, force: true });
  }
  result.cellS = (Date.now() - t0) / 1000;
  return result;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.check && opts.only.length === 0) opts.only.push(...KEY_CELLS.map((id) => `=${id}`), 'team-2proxies', 'first-load');
  const wantBudgets = opts.only.includes('budgets') || (opts.only.length === 0 && !opts.quick);
  const wantFirstLoad = opts.only.includes('first-load') || (opts.only.length === 0 && !opts.quick);
  const isTeam = (p) => TEAM.some((c) => c.id.includes(p));
  const teamCells = opts.only.length === 0 ? (opts.quick ? [] : TEAM) : TEAM.filter((c) => opts.only.some((p) => c.id.includes(p)));
  const wantMillion = opts.only.includes('million');
  const only = opts.only.filter((p) => p !== 'budgets' && p !== 'first-load' && p !== 'million' && !isTeam(p));
  const cells = opts.only.length > 0 && only.length === 0 ? [] : selectCells(allCells({ quick: opts.quick }), only);
  if (opts.list) { for (const c of allCells({ quick: opts.quick })) console.log(c.id); for (const c of TEAM) console.log(c.id); console.log('first-load'); console.log('budgets'); console.log('million'); return; }
  if (cells.length === 0 && !wantBudgets && !wantFirstLoad && !wantMillion && teamCells.length === 0) throw new Error(`no cell matches --only ${opts.only.join(',')} (see --list)`);

  const page = snapshotDist(opts.dist);
  process.once('exit', () => rmSync(page.dir, { recursive: true, force: true }));
  const commit = git('rev-parse', '--short', 'HEAD');
  const dirty = git('status', '--porcelain').split('\n').filter(Boolean).length;
  const started = new Date();
  const stamp = started.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const rawDir = opts.keepRaw ? join(opts.out, `raw-${stamp}`) : null;
  console.log(`pacer bench: ${cells.length} cell(s): ${cells.map((c) => c.id).join(', ')}; page ${page.wasm} (sha256 ${page.sha}…)`);
  const results = [];
  for (const cell of cells) {
    console.log(`▶ ${cell.id}: ${cell.limiter.label}, rate ${cell.rate}/s, latency ${cell.latencyMs} ms, ${cell.images} images, concurrency ${cell.concurrency}` +
      `${cell.pageRate ? `, page rate ${cell.pageRate}/s` : ''}${cell.query && Object.keys(cell.query).length ? `, page ?${new URLSearchParams(cell.query)}` : ''}`);
    const r = await runCell(cell, page.dir, rawDir);
    results.push(r);
    if (r.figures) console.log(`  ${row(r.cell, r.figures).join(' | ')}`);
    for (const e of [...(r.page?.errors ?? []), ...(r.error ? [r.error] : [])]) console.log(`  ⚠ ${e}`);
    console.log(`  (${r.cellS.toFixed(1)} s)`);
  }

  let load = null;
  if (wantFirstLoad) {
    console.log('▶ first load: gzip from a plain static server, unthrottled and on Slow 4G with the CPU ÷4');
    try {
      load = await firstLoad({ dist: page.dir, log: (l) => console.log(`  ${l}`) });
    } catch (e) {
      load = { error: String(e?.message ?? e).split('\n')[0] };
      console.log(`  ⚠ ${load.error}`);
    }
  }
  let budgets = null;
  if (wantBudgets) {
    console.log('▶ budgets: size, first render, 100 000 pasted, a 100 000-item run, heap and scroll');
    try {
      budgets = await runBudgets({ binary: join(ROOT, 'target', 'release', 'pacer-emulator'), dist: page.dir, log: (l) => console.log(`  ${l}`) });
    } catch (e) {
      budgets = { error: String(e?.message ?? e).split('\n')[0] };
      console.log(`  ⚠ ${budgets.error}`);
    }
  }
  let million = null;
  if (wantMillion) {
    console.log(`▶ million: ${millionItems()} URLs at 250/s, 50 ms latency (PACER_MILLION_N sets the size)`);
    try {
      million = await runMillion({ binary: join(ROOT, 'target', 'release', 'pacer-emulator'), dist: page.dir, log: (l) => console.log(`  ${l}`) });
    } catch (e) {
      million = { error: String(e?.message ?? e).split('\n')[0] };
      console.log(`  ⚠ ${million.error}`);
    }
  }
  const team = [];
  for (const cell of teamCells) {
    console.log(`▶ ${cell.id}: ${cell.proxies} pacer-proxy sharing 10/s in one Redis, ${cell.images} images`);
    const r = await runTeamCell(cell, { root: ROOT, dist: page.dir, rawDir, log: (l) => console.log(`  ${l}`) });
    console.log(`  ${r.error ? `⚠ ${r.error}` : teamMarkdown([r]).split('\n').at(-1)}`);
    team.push(r);
  }
  rmSync(page.dir, { recursive: true, force: true });
  const meta = {
    startedUtc: started.toISOString(),
    commit,
    dirty,
    wasm: `${page.wasm} (sha256 ${page.sha}…, from ${page.source})`,
    browser: `Chromium ${results.find((r) => r.page?.browserVersion)?.page.browserVersion ?? '?'}`,
    cpus: cpus().length,
    totalS: (Date.now() - started.getTime()) / 1000,
    quick: opts.quick,
  };
  let md = cells.length > 0 ? markdown(meta, results) : `# Pacer bench\n\ncommit ${commit}${dirty ? ` (+${dirty} changed files)` : ''}, ${meta.wasm}, ${meta.browser}, ${meta.cpus} cpus`;
  if (load) md += `\n\n## First load\n\n${load.error ? `failed: ${load.error}` : ['| budget | measured | target | verdict |', '|---|---|---|---|', ...firstLoadRows(load)].join('\n')}\n`;
  if (budgets) md += `\n\n## Budgets\n\n${budgets.error ? `failed: ${budgets.error}` : budgetsMarkdown(budgets)}\n`;
  if (million) md += `\n\n## A very long run\n\n${millionMarkdown(million)}\n`;
  if (team.length) md += `\n\n## Team budget (pacer-proxy + Redis)\n\n${teamMarkdown(team)}\n`;
  console.log('\n' + md);
  const files = writeReports(opts.out, stamp, md, { meta, results, firstLoad: load, budgets, team, million });
  console.log(`written: ${files.join(', ')}${rawDir ? `, ${rawDir}/` : ''}`);
  if (opts.check) {
    const misses = checkMisses(results, budgets, load, team, million);
    for (const m of misses) console.log(`✗ ${m}`);
    console.log(misses.length === 0 ? `check: every target met (${results.length} cell(s)${budgets ? ' and the budgets' : ''})` : `check: ${misses.length} target(s) missed`);
    if (misses.length > 0) process.exitCode = 1;
  }
}

/** What `--check` fails on: a cell that errored, missed its verdict or could not be judged; a budget missed. */
function checkMisses(results, budgets, load, team, million) {
  const misses = [];
  for (const r of results) {
    const v = r.figures?.verdict;
    if (r.error) misses.push(`${r.cell.id}: ${r.error}`);
    else if (!v) misses.push(`${r.cell.id}: no verdict`);
    else if (!v.pass) misses.push(`${r.cell.id}: ${v.label}${v.why?.length ? ` (${v.why.join('; ')})` : ''}`);
  }
  for (const r of team) {
    const v = r.figures ? teamVerdict(r.figures) : `✗ ${r.error ?? 'no figures'}`;
    if (v !== '✓') misses.push(`${r.cell.id}: ${v}`);
  }
  if (load?.error) misses.push(`first load: ${load.error}`);
  for (const [name, ok] of Object.entries(load?.verdicts ?? {})) if (!ok) misses.push(`budget ${name} missed`);
  if (budgets?.error) misses.push(`budgets: ${budgets.error}`);
  for (const [name, ok] of Object.entries(budgets?.verdicts ?? {})) if (!ok) misses.push(`budget ${name} missed`);
  if (million?.error) misses.push(`million: ${million.error}`);
  for (const [name, ok] of Object.entries(million?.verdicts ?? {})) if (!ok) misses.push(`million ${name} missed`);
  return misses;
}

main().catch((e) => { console.error(`bench: ${e?.message ?? e}`); process.exit(2); });
