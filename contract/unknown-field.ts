/**
 * The one message for a field a schema does not know: it lists the known ones and, for a likely misspelling, names
 * the field that was probably meant (`tennantId` → `tenantId`, `Scopes` → `scopes`).
 */

/** Levenshtein distance, case-insensitive: a misspelling of a short field name is one or two edits away. */
function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (x[i - 1] === y[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[y.length] ?? 0;
}

/** The known field `field` most likely misspells: at most 2 edits (1 for names of 4 characters or fewer), the closest. */
export function likelyMeant(field: string, known: readonly string[]): string | undefined {
  const allowed = field.length <= 4 ? 1 : 2;
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(field, name);
    if (distance <= allowed && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/**
 * `"<path>: unknown field (did you mean "x"? known: …)"`.
 * @param path the field as the user wrote it, with its parents (`keyRotation.intervalSecond`)
 * @param field the field's own name, compared with `known`
 */
export function unknownFieldProblem(path: string, field: string, known: readonly string[]): string {
  const meant = likelyMeant(field, known);
  return `${path}: unknown field (${meant === undefined ? '' : `did you mean "${meant}"? `}known: ${known.join(', ')})`;
}
