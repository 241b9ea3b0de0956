// How the operator's pages tell what a purge left: the rows it removed, by
// table, and whether anything of the tenant was found after; and the
// tombstone of the purge just made, handed from the tenant's page (which
// is gone with the tenant) to the tombstones page.
import type { Schemas } from '../../api/client';

type Tombstone = Schemas['Tombstone'];

const nf = new Intl.NumberFormat();

/** A table → rows count as its entries, the most rows first. */
function byRows(counts: Record<string, number> | null | undefined): [string, number][] {
  return Object.entries(counts ?? {}).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
}

/** The rows the purge removed, by table, the most first. */
export function removedTables(stone: Tombstone): [string, number][] {
  return byRows(stone.removed);
}

/** The rows the purge removed in all, in words. */
export function removedText(stone: Tombstone): string {
  const tables = removedTables(stone);
  const rows = tables.reduce((sum, [, n]) => sum + n, 0);
  return `${nf.format(rows)} rows from ${nf.format(tables.length)} tables`;
}

/** Whether nothing of the tenant was found after the purge. */
export function verifiedText(stone: Tombstone): string {
  return stone.verified ? 'yes' : 'no';
}

let purged: Tombstone | null = null;

/** Keeps the tombstone of a purge for the tombstones page, where the console goes next. */
export function handOver(stone: Tombstone): void {
  purged = stone;
}

/** The tombstone handOver kept, once: a reload of the page does not show it again. */
export function takeOver(): Tombstone | null {
  const stone = purged;
  purged = null;
  return stone;
}
