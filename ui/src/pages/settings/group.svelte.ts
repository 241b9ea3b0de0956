// One group of the tenant's settings as its page holds it: the value the
// server last answered (null until it has), the error reading it, and the
// form's text, made again from each answer.
export class SettingsGroup<T, F> {
  value: T | null = $state(null);
  loadError: unknown = $state(null);
  form: F = $state({} as F);

  constructor(
    private readonly read: () => Promise<T>,
    private readonly write: (form: F) => Promise<T>,
    private readonly toForm: (value: T) => F,
  ) {}

  /** Reads the group, keeping the error for the page to show. */
  load(): void {
    this.read().then(
      (v) => this.show(v),
      (e) => (this.loadError = e),
    );
  }

  /** Saves the form and shows what the server answered; throws what it refused. */
  async save(): Promise<void> {
    this.show(await this.write(this.form));
  }

  private show(v: T): void {
    this.value = v;
    this.form = this.toForm(v);
  }
}
