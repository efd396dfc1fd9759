// What a page keeps in the browser, as text: every key and value of every
// IndexedDB store, and optionally local/session storage and cookies. For
// checking what was saved (a run) and what never may be (the key).
import { Page } from '@playwright/test';

export async function storedText(page: Page, opts: { webStorage?: boolean } = {}): Promise<string> {
  return page.evaluate(async (webStorage) => {
    const out: string[] = [];
    if (webStorage) {
      for (const store of [localStorage, sessionStorage]) {
        for (let i = 0; i < store.length; i++) {
          const k = store.key(i)!;
          out.push(k, store.getItem(k) ?? '');
        }
      }
      out.push(document.cookie);
    }
    const request = <T>(r: IDBRequest<T>) =>
      new Promise<T>((ok, fail) => {
        r.onsuccess = () => ok(r.result);
        r.onerror = () => fail(r.error);
      });
    for (const info of await indexedDB.databases()) {
      const db = await request(indexedDB.open(info.name!));
      for (const name of Array.from(db.objectStoreNames)) {
        const store = db.transaction(name).objectStore(name);
        const [keys, values] = await Promise.all([request(store.getAllKeys()), request(store.getAll())]);
        out.push(name, ...[...keys, ...values].map((v) => (typeof v === 'string' ? v : JSON.stringify(v))));
      }
      db.close();
    }
    return out.join('\n');
  }, opts.webStorage ?? false);
}
