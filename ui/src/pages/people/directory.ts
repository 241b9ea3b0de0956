// The member directory (GET …/people): the tenant's people by name, as
// anyone who reads its assets sees them, to name who holds an asset or a
// license seat and to choose whom to give one to. The People pages, for
// those who manage people, read …/members, which adds roles and departments.
import { api, must, type Schemas } from '../../api/client';
import { allPages, present } from '../catalog/paged.svelte';

export type Person = Schemas['Person'];

/** Every person of the tenant, a large page at a time. */
export function allPeople(tenant: string): Promise<Person[]> {
  return allPages(async (after) => {
    const r = await must(api.GET('/api/v1/t/{tenant}/people', { params: { path: { tenant }, query: { limit: 1000, after } } }));
    return { items: present(r.people), next: r.next, total: r.total };
  });
}

/** How a person is shown: their name and email, or the email alone. */
export function personLabel(p: Person): string {
  return p.name ? `${p.name} (${p.email})` : p.email;
}

/** How the person with the id is shown, or the id when they are not listed (no longer a member). */
export function personName(people: readonly Person[] | null | undefined, userID: string): string {
  const p = people?.find((x) => x.user_id === userID);
  return p ? personLabel(p) : `member ${userID}`;
}

/**
 * People as the choices of a SelectField. Those whose account is disabled
 * are left out unless asked for: a filter by holder wants them, since they
 * may still hold things, but nobody gives a disabled account anything.
 */
export function personChoices(people: readonly Person[] | null | undefined, withDisabled = false): { value: string; label: string }[] {
  return (people ?? []).filter((p) => withDisabled || !p.disabled).map((p) => ({ value: p.user_id, label: personLabel(p) }));
}
