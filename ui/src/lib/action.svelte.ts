// An action a page starts from a button or a form (save, delete, ...):
// whether it is under way, and the error it last ended with, to show
// beside the form (ApiError.fields holds a 422's messages by field).
import { ApiError } from '../api/client';

export class Action {
  busy = $state(false);
  error: unknown = $state(null);

  /** The 422 field messages of the last failure, by field name. */
  get fields(): Record<string, string> {
    return this.error instanceof ApiError ? this.error.fields : {};
  }

  /** Runs fn, keeping its error; says whether it succeeded. */
  async run(fn: () => Promise<unknown>): Promise<boolean> {
    this.busy = true;
    this.error = null;
    try {
      await fn();
      return true;
    } catch (e) {
      this.error = e;
      return false;
    } finally {
      this.busy = false;
    }
  }

  /** Asks first (forgetting the last error) and runs fn only on a yes, as run does. */
  async confirmed(ask: () => Promise<boolean> | undefined, fn: () => Promise<unknown>): Promise<boolean> {
    this.error = null;
    if (!(await ask())) return false;
    return this.run(fn);
  }
}
