// What every catalog page does with its entries: one form that adds an
// entry or changes the one picked from the list, Delete on each entry after
// asking, a line saying what was done, and the entries shown again.
import type ConfirmDialog from '../../components/ConfirmDialog.svelte';
import { Action } from '../../lib/action.svelte';
import { Paged, type Page } from './paged.svelte';

/** An entry of the catalog, as its list shows it. */
export interface Named {
  id: string;
  name: string;
}

export interface EditorOptions<T extends Named, F extends { name: string }> {
  /** What an entry is called in headings and questions: "field set". */
  noun: string;
  /** The id of the name's input, focused when an entry is picked. */
  nameId: string;
  /** The form of an entry to change, or of a new one. */
  form: (entry?: T) => F;
  create: (form: F) => Promise<Named>;
  update: (entry: T, form: F) => Promise<Named>;
  remove: (entry: T) => Promise<unknown>;
  /** Reads a page of the entries, for a table of them a page at a time. */
  page?: (after: string | undefined) => Promise<Page<T>>;
  /** Shows the entries again after a change, for a page that lists them otherwise. */
  reload?: () => Promise<unknown>;
}

export class Editor<T extends Named, F extends { name: string }> {
  /** The entry the form changes, or null when it adds one. */
  editing = $state<T | null>(null);
  form = $state() as F;
  notice = $state('');
  readonly saving = new Action();
  readonly deleting = new Action();
  /** The page's dialog that asks before a delete. */
  confirm = $state<ConfirmDialog>();
  /** The entries a page at a time, when the options say how to read a page. */
  readonly rows: Paged<T> | null;
  readonly noun: string;
  /** The id of the name's input. */
  readonly nameId: string;
  private readonly options: EditorOptions<T, F>;

  constructor(options: EditorOptions<T, F>) {
    this.options = options;
    this.noun = options.noun;
    this.nameId = options.nameId;
    this.form = options.form();
    this.rows = options.page ? new Paged(options.page) : null;
  }

  /** Shows the entries again. */
  async reload(): Promise<void> {
    if (this.options.reload) await this.options.reload();
    else await this.rows?.reload();
  }

  /** Empties the form, for a new entry. */
  reset(): void {
    this.editing = null;
    this.form = this.options.form();
    this.saving.error = null;
  }

  /** Fills the form (with an entry to change, or a new one's start) and focuses it. */
  open(form: F, entry: T | null = null): void {
    this.editing = entry;
    this.form = form;
    this.saving.error = null;
    this.notice = '';
    document.getElementById(this.nameId)?.focus();
  }

  /** Picks an entry to change. */
  edit(entry: T): void {
    this.open(this.options.form(entry), entry);
  }

  /** Adds the form's entry, or saves the one being changed. */
  async save(ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    this.notice = '';
    const entry = this.editing;
    const form = $state.snapshot(this.form) as F;
    await this.saving.run(async () => {
      const saved = entry ? await this.options.update(entry, form) : await this.options.create(form);
      this.notice = `${entry ? 'Saved' : 'Added'} ${saved.name}.`;
      this.reset();
      await this.reload();
    });
  }

  /** Deletes an entry once the person confirms. */
  async remove(entry: T): Promise<void> {
    this.notice = '';
    await this.deleting.confirmed(
      () => this.confirm?.ask(`Delete the ${this.noun} “${entry.name}”?`),
      async () => {
        await this.options.remove(entry);
        this.notice = `Deleted ${entry.name}.`;
        if (this.editing?.id === entry.id) this.reset();
        await this.reload();
      },
    );
  }
}
