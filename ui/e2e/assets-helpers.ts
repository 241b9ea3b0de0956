// What the asset journeys share: calls to the API as the signed-in page
// (with its session cookie and CSRF token), to make the data a journey
// needs, each journey its own, named uniquely.
import { expect, type APIRequestContext, type Page, type PlaywrightWorkerArgs } from '@playwright/test';
import { demo, demoPassword } from './fixtures';

/** A name no other journey (or run) uses. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
}

/**
 * Runs make with the API as the demo admin, signed in apart from the page
 * (which stays the member's whose journey it is), and answers what it made.
 */
export async function asAdmin<T>(playwright: PlaywrightWorkerArgs['playwright'], baseURL: string | undefined, make: (api: API) => Promise<T>): Promise<T> {
  const request = await playwright.request.newContext({ baseURL });
  try {
    return await make(await API.signIn(request, demo.acmeAdmin, demoPassword));
  } finally {
    await request.dispose();
  }
}

/** The API as someone signed in: their cookie, and their CSRF token on changes. */
export class API {
  constructor(
    private readonly request: APIRequestContext,
    private readonly csrf: string,
    readonly tenant = 'acme',
  ) {}

  /** The API as the page's signed-in member. */
  static async of(page: Page, tenant = 'acme'): Promise<API> {
    const me = await page.request.get('/api/v1/auth/me');
    expect(me.status()).toBe(200);
    const body = (await me.json()) as { csrf_token: string };
    return new API(page.request, body.csrf_token, tenant);
  }

  /** The API as someone who signs in with a password on a request context of their own, apart from any page. */
  static async signIn(request: APIRequestContext, email: string, password: string, tenant = 'acme'): Promise<API> {
    const login = await request.post('/api/v1/auth/login', { data: { email, password } });
    expect(login.status()).toBe(200);
    return new API(request, ((await login.json()) as { csrf_token: string }).csrf_token, tenant);
  }

  /** Sends a change; returns the status and the JSON reply. */
  async send(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, data?: unknown): Promise<{ status: number; body: unknown }> {
    const r = await this.request.fetch(`/api/v1/t/${this.tenant}${path}`, {
      method,
      data,
      headers: { 'X-CSRF-Token': this.csrf },
    });
    const text = await r.text();
    return { status: r.status(), body: text ? JSON.parse(text) : null };
  }

  /** Sends a change that must succeed, and returns the reply. */
  async must<T = Record<string, unknown>>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, data?: unknown): Promise<T> {
    const r = await this.send(method, path, data);
    expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
    return r.body as T;
  }

  async get<T = Record<string, unknown>>(path: string): Promise<T> {
    const r = await this.request.get(`/api/v1/t/${this.tenant}${path}`);
    expect(r.status(), `GET ${path}`).toBe(200);
    return (await r.json()) as T;
  }

  async category(name: string): Promise<string> {
    return (await this.must<{ id: string }>('POST', '/categories', { name, kind: 'asset', notes: '' })).id;
  }

  async field(f: { key: string; name: string; type: string; required?: boolean; pattern?: string; choices?: string[]; help_text?: string }): Promise<string> {
    return (
      await this.must<{ id: string }>('POST', '/fields', {
        required: false,
        unique: false,
        pattern: '',
        choices: null,
        help_text: '',
        ...f,
      })
    ).id;
  }

  async fieldSet(name: string, fieldIDs: string[], categoryIDs: string[]): Promise<string> {
    return (await this.must<{ id: string }>('POST', '/fieldsets', { name, field_ids: fieldIDs, category_ids: categoryIDs })).id;
  }

  async depreciation(name: string, months: number): Promise<string> {
    return (await this.must<{ id: string }>('POST', '/depreciations', { name, months, category_ids: null })).id;
  }

  async model(name: string, categoryID: string, fieldSetID = '', depreciationID = ''): Promise<string> {
    return (
      await this.must<{ id: string }>('POST', '/models', {
        name,
        model_number: '',
        category_id: categoryID,
        manufacturer_id: '',
        depreciation_id: depreciationID,
        field_set_id: fieldSetID,
        notes: '',
      })
    ).id;
  }

  async asset(a: { model_id: string; name: string; tag?: string; fields?: Record<string, unknown> }): Promise<{ id: string; tag: string }> {
    return this.must<{ id: string; tag: string }>('POST', '/assets', {
      tag: '',
      serial: '',
      status_id: '',
      location_id: '',
      department_id: '',
      supplier_id: '',
      purchase_date: '',
      cost_cents: null,
      currency: '',
      order_number: '',
      warranty_months: null,
      notes: '',
      fields: null,
      ...a,
    });
  }
}
