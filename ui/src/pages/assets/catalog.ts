// What the asset pages look names up in: the tenant's models, reference
// lists, locations, departments, custom fields, field sets and people (the
// member directory). Each is a paged list; a page loads them once, a large
// page at a time, following next. A plan without custom fields has none.
import { api, must, type Schemas } from '../../api/client';
import { has } from '../../lib/tenant.svelte';
import { allPeople, personName, type Person } from '../people/directory';

type Ref = Schemas['Reference'];

export interface Catalog {
  models: Schemas['Model'][];
  categories: Ref[];
  manufacturers: Ref[];
  suppliers: Ref[];
  statuses: Ref[];
  locations: Schemas['Location'][];
  departments: Schemas['Department'][];
  fields: Schemas['CustomField'][];
  fieldSets: Schemas['FieldSet'][];
  people: Person[];
}

const big = 1000;

/** Every item of a paged list, a page at a time. */
async function all<T>(page: (after: string | undefined) => Promise<{ items: (T | null)[] | null | undefined; next?: string }>): Promise<T[]> {
  const out: T[] = [];
  let after: string | undefined;
  for (;;) {
    const p = await page(after);
    for (const x of p.items ?? []) if (x) out.push(x);
    if (!p.next || p.next === after) return out;
    after = p.next;
  }
}

/** Loads the tenant's catalog. */
export async function loadCatalog(tenant: string): Promise<Catalog> {
  const path = { tenant };
  const q = (after: string | undefined) => ({ limit: big, after });
  const refs = async (list: 'categories' | 'manufacturers' | 'suppliers' | 'status-labels') =>
    all<Ref>(async (after) => {
      const opts = { params: { path, query: q(after) } };
      const r =
        list === 'categories'
          ? await must(api.GET('/api/v1/t/{tenant}/categories', opts))
          : list === 'manufacturers'
            ? await must(api.GET('/api/v1/t/{tenant}/manufacturers', opts))
            : list === 'suppliers'
              ? await must(api.GET('/api/v1/t/{tenant}/suppliers', opts))
              : await must(api.GET('/api/v1/t/{tenant}/status-labels', opts));
      return { items: r.items, next: r.next };
    });
  const [models, categories, manufacturers, suppliers, statuses, locations, departments, fields, fieldSets, people] = await Promise.all([
    all<Schemas['Model']>(async (after) => {
      const r = await must(api.GET('/api/v1/t/{tenant}/models', { params: { path, query: q(after) } }));
      return { items: r.models, next: r.next };
    }),
    refs('categories'),
    refs('manufacturers'),
    refs('suppliers'),
    refs('status-labels'),
    all<Schemas['Location']>(async (after) => {
      const r = await must(api.GET('/api/v1/t/{tenant}/locations', { params: { path, query: q(after) } }));
      return { items: r.locations, next: r.next };
    }),
    all<Schemas['Department']>(async (after) => {
      const r = await must(api.GET('/api/v1/t/{tenant}/departments', { params: { path, query: q(after) } }));
      return { items: r.departments, next: r.next };
    }),
    !has('custom_fields') ? [] : all<Schemas['CustomField']>(async (after) => {
      const r = await must(api.GET('/api/v1/t/{tenant}/fields', { params: { path, query: q(after) } }));
      return { items: r.fields, next: r.next };
    }),
    !has('custom_fields') ? [] : all<Schemas['FieldSet']>(async (after) => {
      const r = await must(api.GET('/api/v1/t/{tenant}/fieldsets', { params: { path, query: q(after) } }));
      return { items: r.field_sets, next: r.next };
    }),
    allPeople(tenant),
  ]);
  return { models, categories, manufacturers, suppliers, statuses, locations, departments, fields, fieldSets, people };
}

/** The name of the item with the id, or the id when it is not listed. */
export function nameOf(list: { id: string; name: string }[] | undefined, id: string | undefined): string {
  if (!id) return '';
  return list?.find((x) => x.id === id)?.name ?? id;
}

/**
 * The custom fields an asset of the model has: those of the set the model
 * names and of the sets attached to its category, in the sets' order.
 */
export function fieldsForModel(c: Catalog, modelID: string): Schemas['CustomField'][] {
  const model = c.models.find((m) => m.id === modelID);
  if (!model) return [];
  const sets = c.fieldSets.filter((s) => s.id === model.field_set_id || (s.category_ids ?? []).includes(model.category_id));
  const ids: string[] = [];
  for (const s of sets) for (const id of s.field_ids ?? []) if (!ids.includes(id)) ids.push(id);
  return ids.map((id) => c.fields.find((f) => f.id === id)).filter((f): f is Schemas['CustomField'] => !!f);
}

/** The member who holds an asset: their name and email when known. */
export function memberName(c: Catalog | null, userID: string): string {
  return personName(c?.people, userID);
}

/** Words for the kinds of holder. */
export const holderKinds: Record<string, string> = { user: 'Member', location: 'Location', asset: 'Asset' };

/** Records as the choices of a SelectField: their ids, shown by name. */
export function choices(list: ReadonlyArray<{ id: string; name: string }> | null | undefined): { value: string; label: string }[] {
  return (list ?? []).map((x) => ({ value: x.id, label: x.name }));
}

/** The choices of a choice, multichoice or yes/no custom field. */
export function fieldChoices(f: Schemas['CustomField']): { value: string; label: string }[] {
  if (f.type === 'boolean') {
    return [
      { value: 'true', label: 'Yes' },
      { value: 'false', label: 'No' },
    ];
  }
  return (f.choices ?? []).map((c) => ({ value: c, label: c }));
}
