// An action that says what it did, for the status line above a page
// (Outcome shows it with the action's error).
import { Action } from './action.svelte';

export class Reported extends Action {
  /** What the last success did; empty while running and after a failure. */
  done = $state('');

  /** Runs fn as run does; on success done is the sentence fn returns. */
  async report(fn: () => Promise<string>): Promise<boolean> {
    this.done = '';
    let said = '';
    const ok = await this.run(async () => {
      said = await fn();
    });
    this.done = said;
    return ok;
  }

  /** Asks with the browser's confirm first, and reports only on a yes. */
  async ask(question: string, fn: () => Promise<string>): Promise<boolean> {
    if (!confirm(question)) return false;
    return this.report(fn);
  }
}
