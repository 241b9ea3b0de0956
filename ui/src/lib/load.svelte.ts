// Loading a page's data when what it depends on changes.
import { untrack } from 'svelte';

/**
 * Calls load with what key returns, at once and whenever that changes.
 * Only key is tracked: what load reads (and the state it sets) never runs
 * it again. Call it while a component initialises.
 */
export function loadOn<T>(key: () => T, load: (key: T) => unknown): void {
  $effect(() => {
    const k = key();
    untrack(() => load(k));
  });
}
