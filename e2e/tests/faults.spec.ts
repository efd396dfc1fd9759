// Every item accounted for under faults. 300 sample
// images at 20/s (HTTPS, HTTP/2) against an emulator that answers 10 % with
// a 5xx, drops 5 %, answers 5 % too late for the page's 3 s timeout and
// sends 2 % broken JSON, all at once and seeded. The run ends with each
// image done once or failed with its reason, the retried rows show their
// attempts, no image succeeds twice, and the page's counts equal the log's.
import { test, expect } from '@playwright/test';
import { expectEveryItemAccounted, faultCounts } from '../support/accounted';
import { Emulator, FAULT_MIX } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';

const IMAGES = 300;
const RATE = 20;

let emu: Emulator;

test.beforeAll(async () => {
  emu = await Emulator.start([
    '--limiter', 'fixed-window', '--limit', String(RATE), '--latency-ms', '300',
    ...FAULT_MIX, '--fault-seed', '7',
  ], { tls: true });
});
test.afterAll(async () => emu?.stop());

test('300 images through 5xx, drops, timeouts and bad JSON: each done once or failed with a reason', async ({ page }) => {
  test.setTimeout(180_000);
  const pacer = new PacerPage(page);
  await pacer.open(emu.tlsUrl!, { rate: RATE, concurrency: 16, timeout: 3 });
  await pacer.loadSamples(IMAGES);
  await pacer.byId('start').click();
  await pacer.waitForState('done', 150_000);

  const log = emu.log();
  const rows = await expectEveryItemAccounted(pacer, IMAGES, log);
  const faults = faultCounts(log);
  console.log(`log: ${log.length} requests, faults ${JSON.stringify(faults)}; page: ${await pacer.number('stat-done')} done, ` +
    `${await pacer.number('stat-failed')} failed, ${rows.filter((r) => r.tries > 1).length} rows retried`);
  // The mix really happened, and retries with it.
  for (const f of ['5xx', 'drop', 'slow', 'bad-json']) expect(faults[f] ?? 0, f).toBeGreaterThan(0);
  expect(rows.some((r) => r.tries > 1)).toBe(true);
});
