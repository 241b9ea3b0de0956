// A page's main read: run when what it depends on changes, whether it is
// under way, and its failure, to show in place of what it reads.
import { loadOn } from './load.svelte';

export class Reading<K> {
  error: unknown = $state(null);
  /** Whether a read is under way (or none has ended yet). */
  loading = $state(true);
  /** Whether a read has succeeded. */
  loaded = $state(false);
  private last: K | undefined;
  private readFor: (key: K) => Promise<unknown>;

  /**
   * Reads for what key returns, at once and whenever that changes, unless
   * it is null or undefined (no tenant yet, say). Only key is tracked, as
   * with loadOn. Create it while a component initialises.
   */
  constructor(key: () => K | null | undefined, read: (key: K) => Promise<unknown>) {
    this.readFor = read;
    loadOn(key, (k) => k != null && this.read(k));
  }

  /** Reads for a key (another page of a list, say). */
  async read(key: K): Promise<void> {
    this.last = key;
    this.loading = true;
    this.error = null;
    try {
      await this.readFor(key);
      this.loaded = true;
    } catch (e) {
      this.error = e;
    } finally {
      this.loading = false;
    }
  }

  /** Reads again for the last key (after a change the page made). */
  async again(): Promise<void> {
    if (this.last !== undefined) await this.read(this.last);
  }
}

/** Lists that keep their own error (Paged): reloads them together and throws the first failure, so that the page's read fails. */
export async function reloadAll(...lists: ReadonlyArray<{ reload(): Promise<void>; error: unknown }>): Promise<void> {
  await Promise.all(lists.map((l) => l.reload()));
  const failed = lists.find((l) => l.error);
  if (failed) throw failed.error;
}
