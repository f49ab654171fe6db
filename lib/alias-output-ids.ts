import { createHash } from 'node:crypto';

/**
 * CloudFormation output ids (alphanumeric) for aliases (`^[a-z0-9][a-z0-9-]{0,62}$`): PascalCase, so
 * `storage-eu` gives `StorageEu`. PascalCase drops hyphens and is not one-to-one (`a-b`, `a--b` and `ab-`
 * can meet), so every alias in such a clash gets a short hash of itself appended; no id depends on
 * the order in which the aliases are listed.
 */
export function aliasOutputIds(aliases: readonly string[]): Map<string, string> {
  const pascal = new Map(aliases.map((alias) => [alias, pascalCase(alias)]));
  const counts = new Map<string, number>();
  for (const id of pascal.values()) counts.set(id, (counts.get(id) ?? 0) + 1);
  return new Map([...pascal].map(([alias, id]) => [alias, (counts.get(id) ?? 0) > 1 ? `${id}${shortHash(alias)}` : id]));
}

function pascalCase(alias: string): string {
  return alias
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8).toUpperCase();
}
