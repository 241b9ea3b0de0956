// Cursor paging backwards and forwards: the API gives only the next
// page's cursor, so the cursors of the pages before are remembered.
import { query, setQuery } from './router.svelte';

export class Cursors {
  /** The cursors the earlier pages started at, the latest last. */
  previous: string[] = $state([]);
  /** The next page's cursor, empty on the last page. */
  next = $state('');

  /** Remembers the cursor this page started at; gives the next page's. */
  forward(at: string): string {
    this.previous = [...this.previous, at];
    return this.next;
  }

  /** Forgets and gives the cursor the page before started at ('' for the first). */
  back(): string {
    const p = [...this.previous];
    const to = p.pop() ?? '';
    this.previous = p;
    return to;
  }

  /** Starts again from the first page (after the filter changed). */
  reset(): void {
    this.previous = [];
  }
}

/** The cursor the page in the address starts at (?after=), '' for the first. */
export function addressCursor(): string {
  return query().get('after') ?? '';
}

/** Shows the page at a cursor by putting it in the address. */
export function goToCursor(after: string): void {
  const q = query();
  if (after) q.set('after', after);
  else q.delete('after');
  setQuery(q);
}
