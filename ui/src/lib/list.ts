// The API's lists may be null when empty (Go's nil slices), and typed with
// nullable items: rows() gives a plain array.

/** The items of an API list, without nulls. */
export function rows<T>(xs: ReadonlyArray<T | null> | null | undefined): T[] {
  return (xs ?? []).filter((x): x is T => x !== null);
}
