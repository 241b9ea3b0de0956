// Lists that page with the API's cursor (?limit=&after=, reply next):
// Paged shows one page and loads more on request; allPages follows next
// to the end, for pickers.
import { ApiError } from '../../api/client';

/** One page of a list, in the API's shape. */
export interface Page<T> {
  items: T[];
  next?: string;
  total: number;
}

/** How many rows a list shows at a time. */
export const pageSize = 50;

/** A list shown a page at a time, with "Load more". */
export class Paged<T> {
  items: T[] = $state([]);
  next: string | undefined = $state();
  total = $state(0);
  loading = $state(false);
  loaded = $state(false);
  error: unknown = $state(null);
  /** How many pages are shown: 1 after a reload, one more for each more(). */
  pages = $state(0);
  private fetchPage: (after: string | undefined) => Promise<Page<T>>;
  private generation = 0;

  constructor(fetchPage: (after: string | undefined) => Promise<Page<T>>) {
    this.fetchPage = fetchPage;
  }

  /** Loads the first page again (after a change, say). */
  async reload(): Promise<void> {
    const gen = ++this.generation;
    this.loading = true;
    this.error = null;
    try {
      const p = await this.fetchPage(undefined);
      if (gen !== this.generation) return;
      this.items = p.items;
      this.next = p.next || undefined;
      this.total = p.total;
      this.pages = 1;
      this.loaded = true;
    } catch (e) {
      if (gen === this.generation) this.error = e;
    } finally {
      if (gen === this.generation) this.loading = false;
    }
  }

  /** Appends the next page. */
  async more(): Promise<void> {
    if (!this.next || this.loading) return;
    const gen = this.generation;
    this.loading = true;
    try {
      const p = await this.fetchPage(this.next);
      if (gen !== this.generation) return;
      this.items = [...this.items, ...p.items];
      this.next = p.next || undefined;
      this.total = p.total;
      this.pages++;
    } catch (e) {
      if (gen === this.generation) this.error = e;
    } finally {
      if (gen === this.generation) this.loading = false;
    }
  }
}

/** Every item of a list, following next page by page (for pickers). */
export async function allPages<T>(fetchPage: (after: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const all: T[] = [];
  let after: string | undefined;
  for (;;) {
    const p = await fetchPage(after);
    all.push(...p.items);
    if (!p.next) return all;
    after = p.next;
  }
}

/** Drops the nulls the API's lists may hold. */
export function present<T>(items: (T | null)[] | null | undefined): T[] {
  return (items ?? []).filter((i): i is T => i !== null);
}

/** The 422 field messages of an error, or none. */
export function fieldErrors(e: unknown): Record<string, string> {
  return e instanceof ApiError ? e.fields : {};
}

/** An error to show above a form: one whose field messages are not all shown beside fields. */
export function formError(e: unknown, shown: string[]): unknown {
  if (!(e instanceof ApiError)) return e;
  const keys = Object.keys(e.fields);
  return keys.length > 0 && keys.every((k) => shown.includes(k)) ? null : e;
}
