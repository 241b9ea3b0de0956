// The console's one way to the server: a client generated from the API's
// OpenAPI description (openapi.json beside package.json), so a change to
// the API that breaks the console breaks `npm run check`.
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

/** The API's named schemas, as TypeScript types. */
export type Schemas = components['schemas'];

let csrfToken = '';

/** Remembers the CSRF token that changes made with the session cookie need. */
export function setCSRFToken(token: string): void {
  csrfToken = token;
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (request.method !== 'GET' && request.method !== 'HEAD' && csrfToken) {
      request.headers.set('X-CSRF-Token', csrfToken);
    }
    return request;
  },
};

/** The typed API client. Paths and bodies are checked against the API. */
export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });
api.use(csrf);

/** An error the API answered, in its one shape. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** Field name → what is wrong with it (422). */
  readonly fields: Record<string, string>;
  readonly requestId: string;

  constructor(status: number, body: unknown) {
    const e = (body as { error?: Schemas['errorBody']['error'] } | undefined)?.error;
    super(e?.message || `the server answered ${status}`);
    this.status = status;
    this.code = e?.code ?? 'unknown';
    this.fields = e?.fields ?? {};
    this.requestId = e?.request_id ?? '';
  }

  /** Whether this is the answer for something the caller cannot see. */
  get notFound(): boolean {
    return this.status === 404;
  }
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** Returns an answer's data, or throws its error as an ApiError. */
export async function must<T>(call: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await call;
  } catch (e) {
    throw new ApiError(0, { error: { code: 'unreachable', message: `the server could not be reached (${String(e)})` } });
  }
  if (!answer.response.ok) {
    throw new ApiError(answer.response.status, answer.error);
  }
  return answer.data as T;
}

/** The message to show for any error. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
