// What the operator's journeys share: a tenant of the journey's own, made
// through the operator's form, and its first admin, invited and signed in
// in a browser of their own.
import type { Browser, BrowserContext, Page } from '@playwright/test';
import { expect } from './fixtures';

/** A name no other journey (or run) uses. */
export function unique(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
}

/** Creates a tenant through the operator's form and lands on its page. */
export async function createTenant(page: Page): Promise<{ slug: string; name: string }> {
  const id = unique();
  const slug = `op-${id}`;
  const name = `Tenant ${id}`;
  await page.goto('/operator/tenants');
  await expect(page.getByRole('heading', { level: 1, name: 'Tenants' })).toBeVisible();
  // The page's other form (import) has fields of like names.
  const form = page.getByRole('region', { name: 'New tenant', exact: true });
  await form.getByLabel('Slug', { exact: true }).fill(slug);
  await form.getByLabel('Name', { exact: true }).fill(name);
  await form.getByRole('button', { name: 'Create tenant' }).click();
  await expect(page).toHaveURL(new RegExp(`/operator/tenants/${slug}$`));
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  return { slug, name };
}

/** Invites a member from the operator's page of the tenant and answers the invitation link. */
export async function inviteLink(page: Page, email: string): Promise<string> {
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Invite' }).click();
  const linkField = page.getByLabel('Invitation link');
  await expect(linkField).toHaveValue(/\/invite\//);
  return linkField.inputValue();
}

/**
 * The person invited opens the link in a browser of their own, joins and
 * lands on the tenant's dashboard; the caller closes the context.
 */
export async function acceptInvitation(browser: Browser, link: string, base: string, tenant: { slug: string; name: string }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  try {
    const them = await context.newPage();
    await them.goto(new URL(new URL(link).pathname, base).toString());
    await expect(them.getByRole('heading', { name: `Join ${tenant.name}` })).toBeVisible();
    await them.getByLabel('Your name').fill('First Admin');
    await them.getByLabel('Choose a password').fill('a long and private passphrase');
    await them.getByRole('button', { name: 'Accept and create account' }).click();
    await expect(them).toHaveURL(new RegExp(`/t/${tenant.slug}$`));
    await expect(them.getByRole('heading', { level: 1, name: tenant.name })).toBeVisible();
    return { context, page: them };
  } catch (e) {
    await context.close();
    throw e;
  }
}
