// Who is signed in: the answer of GET /api/v1/auth/me, kept for the shell
// (tenant switcher, operator link) and refreshed after sign-in and changes.
import { api, ApiError, must, setCSRFToken, type Schemas } from '../api/client';

type Me = Schemas['meReply'];

export const session = $state<{ me: Me | null; loaded: boolean }>({ me: null, loaded: false });

/** Asks the server who the caller is; a 401 means nobody is signed in. */
export async function loadSession(): Promise<void> {
  try {
    const me = await must(api.GET('/api/v1/auth/me'));
    setCSRFToken(me.csrf_token ?? '');
    session.me = me;
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
    setCSRFToken('');
    session.me = null;
  } finally {
    session.loaded = true;
  }
}

/** Signs in; throws the server's error (wrong password, and so on). */
export async function signIn(email: string, password: string): Promise<void> {
  const s = await must(api.POST('/api/v1/auth/login', { body: { email, password } }));
  setCSRFToken(s.csrf_token);
  await loadSession();
}

/** Signs out and forgets the session. */
export async function signOut(): Promise<void> {
  await must(api.POST('/api/v1/auth/logout'));
  setCSRFToken('');
  session.me = null;
}

/** Where a signed-in user starts: their first tenant, or the operator console. */
export function homePath(): string {
  const me = session.me;
  if (!me) return '/login';
  const first = me.tenants?.[0];
  if (first) return `/t/${encodeURIComponent(first.slug)}`;
  if (me.user?.operator) return '/operator/tenants';
  return '/welcome';
}
