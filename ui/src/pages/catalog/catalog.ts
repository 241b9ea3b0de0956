// What the catalog pages share: the API's vocabulary (reference lists and
// their kinds, field types, seat assignees) and the calls that read, add,
// change and delete the entries of its collections.
import { api, must, type Schemas } from '../../api/client';
import type { paths } from '../../api/schema';
import { current, tenantPath } from '../../lib/tenant.svelte';
import { allPages, pageSize, present, type Page } from './paged.svelte';

export type Vocabulary = Schemas['catalogVocabulary'];
export type ReferenceListInfo = Schemas['referenceListInfo'];
export type Reference = Schemas['Reference'];

let vocab: { slug: string; answer: Promise<Vocabulary> } | null = null;

/** The catalog's vocabulary, asked once per tenant. */
export function vocabulary(): Promise<Vocabulary> {
  if (!vocab || vocab.slug !== current.slug) {
    const answer = must(api.GET('/api/v1/t/{tenant}/catalog', { params: { path: tenantPath() } }));
    answer.catch(() => (vocab = null));
    vocab = { slug: current.slug, answer };
  }
  return vocab.answer;
}

// The tenant's catalog collections share their routes' shape: POST to the
// collection adds, PATCH and DELETE on /{id} change and delete. Every
// reference list has the same shapes too; the typed client knows them by
// their literal paths, so calls on a list name categories' and swap in the
// list's own path segment.
type Editable = 'models' | 'depreciations' | 'fields' | 'fieldsets' | 'locations' | 'categories';
type CollectionOf<K extends Editable> = `/api/v1/t/{tenant}/${K}`;
type ItemOf<K extends Editable> = `/api/v1/t/{tenant}/${K}/{id}`;
type Json<R> = R extends { content: { 'application/json': infer J } } ? J : never;
type Sent<O> = O extends { requestBody: infer R } ? Json<R> : never;
type Answered<O> = O extends { responses: { 201: infer R } } ? Json<R> : O extends { responses: { 200: infer R } } ? Json<R> : never;
type Added<K extends Editable> = paths[CollectionOf<K>]['post'];
type Changed<K extends Editable> = paths[ItemOf<K>]['patch'];

/** The API path of a collection (a reference list's, say). */
function collection(path: string): CollectionOf<'categories'> {
  return `/api/v1/t/{tenant}/${path}` as CollectionOf<'categories'>;
}

/** The API path of one entry of a collection. */
function item(path: string): ItemOf<'categories'> {
  return `/api/v1/t/{tenant}/${path}/{id}` as ItemOf<'categories'>;
}

/**
 * The calls that add, change and delete the entries of one of the tenant's
 * collections (a reference list by its path, as categories), with the
 * bodies and answers the API describes for it.
 */
export function entryCalls<K extends Editable>(kind: K, path: string = kind) {
  const entry = (id: string) => ({ path: { ...tenantPath(), id } });
  return {
    create: (body: Sent<Added<K>>): Promise<Answered<Added<K>>> =>
      must(api.POST(collection(path), { params: { path: tenantPath() }, body: body as never })) as Promise<Answered<Added<K>>>,
    update: (e: { id: string }, body: Sent<Changed<K>>): Promise<Answered<Changed<K>>> =>
      must(api.PATCH(item(path), { params: entry(e.id), body: body as never })) as Promise<Answered<Changed<K>>>,
    remove: (e: { id: string }): Promise<unknown> => must(api.DELETE(item(path), { params: entry(e.id) })),
  };
}

type Listed<K extends Editable> = Answered<paths[CollectionOf<K>]['get']> & { next?: string; total: number };
type Entry<L> = NonNullable<L> extends ReadonlyArray<infer E> ? NonNullable<E> : never;

/**
 * What reads one page of one of the tenant's collections (a reference list
 * by its path, as categories), whose answer holds the entries under key.
 */
function pager<K extends Editable, L extends keyof Listed<K>>(kind: K, key: L, path: string = kind) {
  return async (after: string | undefined, limit = pageSize): Promise<Page<Entry<Listed<K>[L]>>> => {
    const query = { limit, after };
    const r = (await must(api.GET(collection(path), { params: { path: tenantPath(), query } }))) as unknown as Listed<K>;
    return { items: present(r[key] as (Entry<Listed<K>[L]> | null)[] | undefined), next: r.next, total: r.total };
  };
}

/** One page of a reference list. */
export function referencePage(path: string, after: string | undefined, limit = pageSize): Promise<Page<Reference>> {
  return pager('categories', 'items', path)(after, limit);
}

/** Every entry of a reference list, for a picker. */
export function allReferences(path: string): Promise<Reference[]> {
  return allPages((after) => referencePage(path, after, 1000));
}

/** Names by id, for showing what an id refers to. */
export function namesById(items: { id: string; name: string }[]): Map<string, string> {
  return new Map(items.map((i) => [i.id, i.name]));
}

/** The names of some ids, for a table cell: "Laptops, Phones". */
export function namesOf(ids: string[] | null | undefined, names: Map<string, string>): string {
  return (ids ?? []).map((id) => names.get(id) ?? '').join(', ');
}

/** A list's name for headings: "Status labels". */
export function title(l: ReferenceListInfo): string {
  const words = l.name.replaceAll('_', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export type Model = Schemas['Model'];
export type Depreciation = Schemas['Depreciation'];
export type CustomField = Schemas['CustomField'];
export type FieldSet = Schemas['FieldSet'];
export type Location = Schemas['Location'];

/** One page of the tenant's models. */
export const modelPage = pager('models', 'models');

/** One page of the tenant's depreciation schedules. */
export const depreciationPage = pager('depreciations', 'depreciations');

/** One page of the tenant's custom fields. */
export const fieldPage = pager('fields', 'fields');

/** One page of the tenant's field sets. */
export const fieldSetPage = pager('fieldsets', 'field_sets');

/** One page of the tenant's locations. */
export const locationPage = pager('locations', 'locations');

/** Every item of a list, for a picker, in pages of 1000. */
export function everything<T>(page: (after: string | undefined, limit: number) => Promise<Page<T>>): Promise<T[]> {
  return allPages((after) => page(after, 1000));
}
