// Departments as a tree, for pickers and the departments page.
import { api, must, type Schemas } from '../../api/client';
import { rows } from '../../lib/list';
import { allPages } from '../catalog/paged.svelte';

export type Department = Schemas['Department'];

/** Every department of a tenant, following the API's pages. */
export function tenantDepartments(tenant: string): Promise<Department[]> {
  return allPages(async (after) => {
    const r = await must(
      api.GET('/api/v1/t/{tenant}/departments', { params: { path: { tenant }, query: { limit: 1000, ...(after ? { after } : {}) } } }),
    );
    return { items: rows(r.departments), next: r.next, total: r.total };
  });
}

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

/** The choices of a department picker, in tree order, each name indented by its depth; without one department (and so its place) when given. */
export function departmentOptions(tree: Array<{ d: Department; depth: number }>, except = ''): Array<{ value: string; label: string }> {
  return tree.filter(({ d }) => d.id !== except).map(({ d, depth }) => ({ value: d.id, label: `${'\u00a0\u00a0'.repeat(depth)}${d.name}` }));
}
