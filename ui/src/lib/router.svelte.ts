// A small router over the History API: console URLs mirror the API's, and
// every page can be bookmarked and reloaded (the server answers index.html
// for every path that is not a file).

/** Where the console is: the path and query of the address bar. */
export const location = $state({
  path: window.location.pathname,
  search: window.location.search,
});

function update(): void {
  location.path = window.location.pathname;
  location.search = window.location.search;
}

window.addEventListener('popstate', update);

/** Goes to a console address, adding it to the history unless replace. */
export function navigate(to: string, replace = false): void {
  if (replace) {
    window.history.replaceState(null, '', to);
  } else {
    window.history.pushState(null, '', to);
  }
  update();
  window.scrollTo(0, 0);
}

/** Sets the query string of the current address without a new history entry. */
export function setQuery(params: URLSearchParams): void {
  const q = params.toString();
  navigate(location.path + (q ? `?${q}` : ''), true);
}

/** The current query string's parameters. */
export function query(): URLSearchParams {
  return new URLSearchParams(location.search);
}

/**
 * Matches a path against a pattern such as /t/:tenant/assets/:id and
 * returns the named segments, or null.
 */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith(':')) {
      try {
        params[w.slice(1)] = decodeURIComponent(g);
      } catch {
        return null;
      }
    } else if (w !== g) {
      return null;
    }
  }
  return params;
}

/**
 * Lets plain links inside the app navigate without reloading: a click on
 * an <a href="/…"> to a console page, with no modifier key, no target and
 * no download, is handled here.
 */
export function interceptLinks(root: HTMLElement): () => void {
  const onClick = (ev: MouseEvent) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    const a = (ev.target as Element | null)?.closest('a');
    if (!a || a.target || a.hasAttribute('download')) return;
    const href = a.getAttribute('href');
    if (!href || !href.startsWith('/') || href.startsWith('//') || href.startsWith('/api/')) return;
    ev.preventDefault();
    navigate(href);
  };
  root.addEventListener('click', onClick);
  return () => root.removeEventListener('click', onClick);
}
