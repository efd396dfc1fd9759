// A page object over the page's data-testid interface (docs/ARCHITECTURE.md).
import { Page, Locator, expect } from '@playwright/test';

export class PacerPage {
  constructor(public page: Page) {}

  byId(id: string): Locator {
    return this.page.getByTestId(id);
  }

  /** Opens the page served by `base` with settings in the query string. */
  async open(base: string, query: Record<string, string | number> = {}): Promise<void> {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
    await this.page.goto(`${base}/?${qs}`);
    await expect(this.byId('run-state')).toHaveText('idle');
  }

  async loadSamples(count: number): Promise<void> {
    await this.byId('sample-count').fill(String(count));
    await this.byId('load-samples').click();
  }

  async number(id: string): Promise<number> {
    const text = (await this.byId(id).textContent()) ?? '';
    const n = Number(text.trim());
    if (!Number.isFinite(n)) throw new Error(`${id} is not a number: "${text}"`);
    return n;
  }

  /**
   * Every row of the results list, in list order. The list is virtualised
   * (only rows in view exist), so this scrolls it from top to bottom and
   * collects the rows drawn at each step, by their `#`.
   */
  async allRows(): Promise<RowSeen[]> {
    const seen = new Map<number, RowSeen>();
    const scroller = this.page.locator('.vlist-scroll');
    await scroller.evaluate((e) => { e.scrollTop = 0; });
    for (;;) {
      await this.page.waitForTimeout(50);
      for (const r of await this.page.$$eval('[data-testid="result-row"]', (rows) => rows.map((row) => ({
        index: Number(row.querySelector('.col-index')?.textContent ?? 'NaN'),
        url: row.querySelector('.url')?.textContent ?? '',
        state: row.getAttribute('data-state') ?? '',
        tries: Number(row.querySelector('.col-tries')?.textContent ?? 'NaN'),
        reason: row.querySelector('.error-text')?.textContent ?? '',
      })))) seen.set(r.index, r);
      const atEnd = await scroller.evaluate((e) => {
        const before = e.scrollTop;
        e.scrollTop = before + e.clientHeight;
        return e.scrollTop === before;
      });
      if (atEnd) break;
    }
    return [...seen.values()].sort((a, b) => a.index - b.index);
  }

  async waitForState(state: string, timeout = 90_000): Promise<void> {
    await expect(this.byId('run-state')).toHaveText(state, { timeout });
  }
}

/** One `result-row` as the page shows it. */
export interface RowSeen {
  /** The row's `#` (1-based input position). */
  index: number;
  url: string;
  state: string;
  tries: number;
  /** The failure reason, if any. */
  reason: string;
}
