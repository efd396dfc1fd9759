// Renders the bench's results as a Markdown table (printed and written to
// bench-results/) and as JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const fx = (v, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '–');
const pair = (a, b, d = 0) => `${fx(a, d)} / ${fx(b, d)}`;

const HEADER = ['cell', 'limiter', 'rate', 'conc', 'done', 'send-rate ratio', 'tutorial tput (ideal)',
  '429s', 'sends', '429 %', 'lat avg/p95 page ms', 'lat avg/p95 client ms', 'max/1 s', 'min gap ms',
  'J ms (p99−p1)', 'jitter bound', 'ratio/bound', 'page tput vs log', 'cell criteria', 'verdict'];

const faultCounts = (faults) => Object.entries(faults ?? {}).filter(([k]) => k !== 'none').map(([k, n]) => `${k} ${n}`).join(', ');
const len = (a) => (Array.isArray(a) ? String(a.length) : '–');

/** A multi-tab cell's J (all tabs, and per exporting tab) and, when strict, together ÷ bound. */
function jBits(cell, f) {
  if (!Number.isFinite(f.jMs)) return '; J – (no export)';
  const perTab = (f.exportTabs ?? []).map((t) => `tab ${t} ${fx(f.perTabJMs[t], 1)}`).join(', ');
  return `; J ${fx(f.jMs, 1)} ms (${perTab})` +
    (cell.limiter.strict ? `, bound ${fx(f.jitterBound, 3)}, together/bound ${fx(f.ratioOfBound, 3)}` : '');
}

/** The figures a cell's own verdict rests on (AIMD, hidden tab, faults); empty for the others. */
export function criteria(cell, f) {
  if (cell.kind === 'aimd') {
    return `converged ${Number.isFinite(f.convergeS) ? `${fx(f.convergeS, 1)} s` : 'never'}, held ${fx(f.heldRatio, 3)}, 429 ${fx(f.pct429, 1)} %`;
  }
  if (cell.kind === 'hidden') {
    if (!Number.isFinite(f.hiddenRatio)) return 'never hidden';
    return `hidden ${fx(f.hiddenS, 0)} s: ratio ${fx(f.hiddenRatio, 3)} (after 5 min ${fx(f.lateHiddenRatio, 3)}); ` +
      `plain timer ${fx(f.plainVisible, 1)} → ${fx(f.plainHidden, 2)} → ${fx(f.plainLate, 3)} ticks/s`;
  }
  if (cell.kind === 'multitab') {
    const tabs = `${cell.tabs} tabs, ok per tab ${f.perTabOk?.join('/')}, 429 per tab ${f.per429?.join('/')}`;
    if (cell.handover) {
      return `${tabs}; leader (tab ${f.leader}) closed: largest gap ${fx(f.handoverGapMs, 1)} ms = ${fx(f.handoverGapIntervals, 2)} intervals ` +
        `at ${fx(f.handoverGapFromCloseMs, 0)} ms from the close, max ${f.handoverMaxPerSecond}/1 s around it, ${f.handover429} × 429 within −1…+2 s; together ${fx(f.togetherRatio, 3)}${jBits(cell, f)}`;
    }
    return `${tabs}; together ${fx(f.togetherRatio, 3)} of the limit over ${fx(f.togetherS, 1)} s, 429 ${fx(f.pct429, 1)} %, max ${f.maxOkPerSecond} successes/1 s${jBits(cell, f)}`;
  }
  if (cell.kind === 'ontime') {
    const t = cell.targets;
    return `2nd send ${fx(f.secondGapMs, 1)} ms after the 1st (1/rate ${fx(f.oneOverRateMs, 1)}, spacing ${fx(f.spacingMs, 1)}: +${fx(f.secondExcessMs, 1)}, target ≤ 3); ` +
      `lateness first 5 s p99 ${fx(f.lateArrivalP99Ms, 1)} ms at the server (max ${fx(f.lateArrivalMaxMs, 1)}), ${fx(f.lateSendP99Ms, 1)} ms by the page's send stamps, target ≤ 3; ` +
      `targets: ratio ≥ ${t.ratio}, 429s ≤ ${t.max429}`;
  }
  if (cell.kind === 'faults') {
    return `lost ${f.lostByPage} (+${len(f.doneWithoutGood)} done w/o good 200), dup ${f.duplicateImages}, ` +
      `sends/item ${fx(f.retriesPerItem, 2)} (page retries ${fx(f.pageRetries, 0)}), good tput/rate ${fx(f.goodTputRatio, 3)}, ` +
      `faults ${faultCounts(f.faults)}, failed ${f.pageFailed} (${len(f.failedWithoutReason)} w/o reason); ` +
      `page done ${f.pageDone} vs log ${f.doneImages}, sent ${fx(f.pageSent, 0)} vs log ${f.sends}`;
  }
  return '';
}

/** One table row of a finished cell. */
export function row(cell, f) {
  return [
    cell.id, cell.limiter.label, String(cell.rate), String(cell.concurrency),
    `${f.doneImages}/${f.total}`,
    fx(f.ratio, 3),
    `${fx(f.tutorialTput, 2)} (${fx(f.idealTput, 2)})`,
    String(f.n429), String(f.sends), fx(f.pct429, 1),
    pair(f.pageLatencyAvg, f.pageLatencyP95),
    pair(f.clientLatencyAvg, f.clientLatencyP95),
    String(f.maxPerSecond), fx(f.minGapMs, 1),
    Number.isFinite(f.jMs) ? `${fx(f.jMs, 1)} (${fx(f.jSpreadMs, 1)})` : '–',
    cell.limiter.strict ? fx(f.jitterBound, 3) : '',
    cell.limiter.strict ? fx(f.ratioOfBound, 3) : '',
    Number.isFinite(f.pageTputDeltaPct) ? `${f.pageTput.toFixed(2)} (${f.pageTputDeltaPct >= 0 ? '+' : ''}${f.pageTputDeltaPct.toFixed(1)} %)` : '–',
    criteria(cell, f),
    verdictText(f.verdict),
  ];
}

/** A verdict's label, why it failed and its notes (figures beside the verdict, not part of it). */
const verdictText = (v) => {
  const rest = [...v.why, ...(v.notes ?? [])];
  return v.label + (rest.length ? `: ${rest.join('; ')}` : '');
};

const mdRow = (cells) => `| ${cells.join(' | ')} |`;

/** The whole report as Markdown. */
export function markdown(meta, results) {
  const lines = [
    `# Pacer bench ${meta.startedUtc}`,
    '',
    `- commit ${meta.commit}${meta.dirty ? ` (+${meta.dirty} uncommitted changes in the tree)` : ''}; page ${meta.wasm}`,
    `- ${meta.browser}; ${meta.cpus} CPUs; node ${process.version}; whole bench ${fx(meta.totalS, 0)} s`,
    `- page over https (HTTP/2) at the cell's rate; emulator --limit = rate, --latency-ms 1000 (unless a cell's notes say otherwise), fresh emulator and browser per cell`,
    '',
    mdRow(HEADER),
    mdRow(HEADER.map(() => '---')),
    ...results.map((r) => mdRow(r.error && !r.figures ? [r.cell.id, r.cell.limiter.label, String(r.cell.rate), String(r.cell.concurrency), ...HEADER.slice(4, -1).map(() => '–'), `ERROR: ${r.error}`] : row(r.cell, r.figures))),
    '',
    '## Notes per cell',
    '',
  ];
  for (const r of results) {
    const f = r.figures;
    const bits = [];
    if (r.cell.latencyMs !== 1000) bits.push(`latency ${r.cell.latencyMs} ms`);
    if (r.cell.emulatorArgs?.length) bits.push(`emulator ${r.cell.emulatorArgs.join(' ')}`);
    if (r.cell.query && Object.keys(r.cell.query).length) bits.push(`page ?${new URLSearchParams(r.cell.query)}`);
    if (f) {
      bits.push(`statuses ${JSON.stringify(f.statuses)}`);
      if (f.n429) bits.push(`429 arrivals at t = ${f.t429RelS.slice(0, 12).map((t) => t.toFixed(2)).join(', ')}${f.n429 > 12 ? ', …' : ''} s`);
      if (f.duplicateSuccesses) bits.push(`${f.duplicateSuccesses} duplicate successes (an image answered 200 twice)`);
      bits.push(`page: done ${f.pageDone}, failed ${f.pageFailed}, 429 ${f.page429}`);
      if (r.cell.kind === 'aimd') {
        bits.push(`AIMD: first 3 s window of successes within 10 % of ${r.cell.rate}/s ends ${Number.isFinite(f.convergeS) ? `${fx(f.convergeS, 1)} s after the first send (${fx(f.convergeWindowRate, 2)}/s)` : 'never'}; ` +
          `send-rate ratio from there to the end ${fx(f.heldRatio, 3)}; 429s ${f.n429} of ${f.sends} sends (${fx(f.pct429, 1)} %); whole-run ratio ${fx(f.ratio, 3)}`);
      }
      if (r.cell.kind === 'hidden' && Number.isFinite(f.hiddenRatio)) {
        bits.push(`hidden tab: ${fx(f.hiddenS, 1)} s hidden, ${f.hiddenOk} successes (${fx(f.hiddenOk / f.hiddenS, 2)}/s, ratio ${fx(f.hiddenRatio, 3)}; from 5 min hidden on ${fx(f.lateHiddenRatio, 3)}), ` +
          `${f.hidden429} × 429, max ${f.hiddenMaxPerSecond} in 1 s; whole-run ratio ${fx(f.ratio, 3)}; page state before show "${f.stateBeforeShow}"; ` +
          `plain 100 ms setTimeout chain: ${fx(f.plainVisible, 2)}/s visible, ${fx(f.plainHidden, 2)}/s in the first 10 s hidden, ` +
          `${Number.isFinite(f.plainLate) ? `${fx(f.plainLate, 3)}/s over 60 s from ${fx(f.plainLateFromS, 0)} s hidden` : 'not measured after 5 min'}; ` +
          `${f.stayedHidden ? 'stayed hidden throughout' : `⚠ did not stay hidden (${f.unhiddenWhileHidden} visible events)`}`);
      }
      if (r.cell.kind === 'faults') {
        const reasons = Object.entries(f.failedReasons ?? {}).map(([why, n]) => `${n} × "${why}"`).join(', ');
        bits.push(`faults: log ${f.sends} requests for ${f.total} images (${fx(f.retriesPerItem, 3)} per image), faults ${JSON.stringify(f.faults)}; ` +
          `${f.successes} good 200s on ${f.doneImages} images (${f.duplicateImages} images more than once); ` +
          `page done ${f.pageDone}, failed ${f.pageFailed}, queued ${f.pageQueued}, sent ${fx(f.pageSent, 0)}, retries ${fx(f.pageRetries, 0)}; lost ${f.lostByPage}; ` +
          (Array.isArray(f.doneWithoutGood)
            ? `export: ${f.exportDone} done, ${f.exportFailed} failed, ${f.exportUnsettled} other of ${f.exportItems}; ` +
              `${f.doneWithoutGood.length} done without a good 200${f.doneWithoutGood.length ? ` (${f.doneWithoutGood.slice(0, 3).join(', ')})` : ''}, ` +
              `${f.goodNotDone.length} good 200 not done; ${f.retriedItems} items retried (at most ${f.maxAttempts} attempts), ` +
              `${f.attemptsMismatch} items whose attempts ≠ their log requests; failed reasons: ${reasons || 'none'}; `
            : 'no export; ') +
          `good successes/s ÷ rate ${fx(f.goodTputRatio, 3)}, all requests/s ÷ rate ${fx(f.sendRateRatio, 3)}`);
      }
      if (Number.isFinite(f.jMs)) bits.push(`matched ${f.matched} attempts, median send→arrival ${fx(f.offsetMedianMs, 1)} ms, unmatched attempts ${f.unmatchedAttempts} / log lines ${f.unmatchedLines}; largest offset at t = ${fx(f.maxOffsetAtS, 2)} s; J after the first second of sends ${fx(f.jSteadyMs, 1)} ms${f.sentWholeMs ? '; page send stamps are whole ms' : ''}`);
    }
    if (f?.pairs429?.length) {
      const ms = (v) => (Number.isFinite(v) ? `${fx(v, 0)} ms` : 'unmatched');
      bits.push(`429s and the request logged just before each (offset = log arrival − page send): ${f.pairs429.slice(0, 8).map((p) =>
        `t ${fx(p.atS, 2)} s tab ${p.tab} offset ${ms(p.offsetMs)}, ${fx(p.gapMs, 0)} ms after tab ${p.prevTab}'s ${p.prevStatus} offset ${ms(p.prevOffsetMs)}`).join('; ')}${f.pairs429.length > 8 ? '; …' : ''}`);
    }
    if (r.page?.tabs) {
      bits.push(`tabs: ${r.page.tabs.map((t, i) => (t.closed ? `tab ${i} closed` : `tab ${i} ${t.state}, done ${t.done}, failed ${t.failed}, 429 ${t.n429}`)).join('; ')}`);
      const notices = [...new Set(r.page.tabs.filter((t) => t.notice).map((t) => t.notice))];
      if (notices.length) bits.push(`notices: ${notices.map((n) => `"${n}"`).join(' / ')}`);
    }
    if (r.page) {
      bits.push(`run ${fx(r.page.wallMs / 1000, 1)} s, state ${r.page.state}, protocols ${JSON.stringify(r.page.protocols ?? {})}`);
      if (r.page.notice) bits.push(`notice: "${r.page.notice}"`);
      for (const e of r.page.errors) bits.push(`⚠ ${e}`);
      if (r.page.consoleErrors.length) bits.push(`console errors: ${r.page.consoleErrors.slice(0, 3).join(' / ')}`);
    }
    if (r.error) bits.push(`⚠ ${r.error}`);
    bits.push(`cell took ${fx(r.cellS, 1)} s`);
    lines.push(`- **${r.cell.id}**: ${bits.join('; ')}`);
  }
  lines.push('', FOOTNOTE);
  return lines.join('\n') + '\n';
}

const FOOTNOTE = `Figures: send-rate ratio = (successes − 1) ÷ (last − first successful arrival) ÷ rate; tutorial throughput = successes ÷ (last success end − first success arrival), ideal = N ÷ ((N − 1)/rate + latency); 429 % of all sends; max/1 s = most arrivals (any status) in a sliding 1 s window; min gap = smallest gap between consecutive arrivals; J = max − min of (log arrival − page send) over matched attempts (k-th attempt of an image ↔ k-th log line of it); jitter bound = 1 ÷ (1 + J × rate) (gcra burst 0 only). Targets: ratio ≥ 0.98 (gcra burst 0: ≥ 0.98 × bound), 429s < 1 % of sends, every image done. Client latency is from the export's successful attempts (p95 by linear interpolation).

AIMD cell (own verdict): convergence = end of the first sliding 3 s window (ending on a successful arrival, starting after the first send) whose successes are within 10 % of the limit, from the first send; held = send-rate ratio from convergence to the last success. Targets: converged < 30 s, held ≥ 0.95, 429s < 5 % of sends, every image done.

Hidden-tab cell (own verdict): Chromium launched directly and driven over raw CDP (e2e/support/hidden-tab.mjs); the page is hidden behind a second tab (document.visibilityState 'hidden') from 5 s after the start for the cell's span, then shown to finish. Hidden ratio = successful arrivals per second while hidden ÷ rate (also from 5 min hidden on, when Chrome's intensive throttling applies). Proof of throttling: a plain 100 ms setTimeout chain in the page, ticks/s visible → first 10 s hidden → 60 s from 5 min 5 s hidden; the verdict is n/a if it ran > 2/s hidden or the page was ever visible in between. Targets: hidden ratio ≥ 0.95, 429s < 1 % of sends, every image done.

Multi-tab cells (own verdict): 2 or 3 pages of one Chromium context (one origin) share one emulator key and its limit (10/s, 1 s latency): strict (gcra burst 0, where a few ms of network jitter between two sends is a 429), the fixed window (the emulator's default) or gcra burst 4; each tab's image URLs carry \`?tab=T\`. Together = successful arrivals per second, over the span in which every (remaining) tab was sending, ÷ the limit. Targets: together ≥ 0.97, 429s ≤ 1 % of sends, at most limit + 1 successes in any 1 s (the table's max/1 s counts every arrival, 429s too), every tab finishes. J and the jitter bound as for the single-tab cells, over every tab that finished (each downloads its own export; each tab's attempts are matched to its own log lines; a closed tab has no export, so its sends are left out); ratio/bound = together ÷ bound. The verdict's note says whether together also reaches 0.98 × bound (the single-tab strict target); it does not change the verdict. Handover cells: the leading tab (its notice says it hands out the sends) is closed 6 s after the starts; largest gap between consecutive arrivals (any status) from 2 s before to 3 s after the close (the closed tab's requests cut off in flight are in the log with status 0: the limiter counted them), in intervals (1 interval = 100 ms); target ≤ 2 intervals (a stall of at most one interval beyond the usual spacing), no burst (≤ limit + 1 arrivals in 1 s around the close), the other tabs finish.

Fault cell (own verdict): the emulator faults the answers its limiter lets through (seeded; see the cell's notes), the page times out at 3 s and tries an image at most 5 times. A good success is a log line with status 200 and no \`bad-json\` fault (everywhere in this table: done, ratios, latencies); status 0 = dropped or abandoned. Lost = total − done − failed as the page shows them, plus images the page shows done (export) without a good 200 in the log; duplicates = images with more than one good 200; sends/item = log requests ÷ images (page retries = its \`stat-retries\`); good tput/rate = good successes ÷ (last good arrival − first arrival) ÷ rate (retries spend the same rate, so ~0.78 is the most this mix allows). PASS when nothing is lost, nothing is duplicated, the page's done = images with a good 200 (each shown done) and its sent = the log's requests, and every failed item's last attempt has an error; n/a when a fault kind was never injected.`;

/** Writes bench-<stamp>.md/.json and latest.md into `dir`. */
export function writeReports(dir, stamp, md, json) {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `bench-${stamp}`);
  writeFileSync(`${base}.md`, md);
  writeFileSync(`${base}.json`, JSON.stringify(json, null, 2) + '\n');
  writeFileSync(join(dir, 'latest.md'), md);
  return [`${base}.md`, `${base}.json`, join(dir, 'latest.md')];
}
