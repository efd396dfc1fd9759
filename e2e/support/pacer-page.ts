// A page object over the data-testid interface of DESIGN.md §5.
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

  async waitForState(state: string, timeout = 90_000): Promise<void> {
    await expect(this.byId('run-state')).toHaveText(state, { timeout });
  }
}
