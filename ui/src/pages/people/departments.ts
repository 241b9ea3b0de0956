// Departments as a tree, for pickers and the departments page.
import type { Schemas } from '../../api/client';

export type Department = Schemas['Department'];

/** Departments in tree order, each with its depth. */
export function inTreeOrder(ds: Department[]): Array<{ d: Department; depth: number }> {
  const ids = new Set(ds.map((d) => d.id));
  const children = new Map<string, Department[]>();
  for (const d of ds) {
    const parent = d.parent_id && ids.has(d.parent_id) ? d.parent_id : '';
    const list = children.get(parent) ?? [];
    list.push(d);
    children.set(parent, list);
  }
  const out: Array<{ d: Department; depth: number }> = [];
  const walk = (parent: string, depth: number) => {
    for (const d of (children.get(parent) ?? []).sort((a, b) => a.name.localeCompare(b.name))) {
      out.push({ d, depth });
      walk(d.id, depth + 1);
    }
  };
  walk('', 0);
  return out;
}

/** A department's name indented by its depth, for an <option>. */
export function optionLabel(d: Department, depth: number): string {
  return `${'\u00a0\u00a0'.repeat(depth)}${d.name}`;
}
