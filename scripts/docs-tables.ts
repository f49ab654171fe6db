/**
 * `npx tsx scripts/docs-tables.ts`: rewrites the tables of the docs that are generated from the code, between
 * `<!-- generated:<name> -->` and `<!-- /generated:<name> -->`. test/docs/ checks they are current, so a new metric
 * fails the unit tests until this script has run.
 *
 * - `metrics` (docs/operations-alarms.md): every metric the broker writes, with the doc comment it has in
 *   contract/aws-names.ts (METRIC_NAMES and ACTIVE_KEY_AGE_METRIC).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const NAMES_FILE = 'contract/aws-names.ts';

export interface GeneratedTable {
  readonly name: string;
  /** Repository-relative page that holds it. */
  readonly file: string;
  render(): string;
}

/** The doc comment of a node, on one line, without `*` and tags. */
function docComment(node: ts.Node, source: ts.SourceFile): string {
  const ranges = ts.getLeadingCommentRanges(source.text, node.getFullStart()) ?? [];
  const last = ranges.at(-1);
  if (!last) return '';
  return source.text
    .slice(last.pos, last.end)
    .replace(/^\/\*\*|\*\/$/g, '')
    .split('\n')
    .map((line) => line.replace(/^\s*\*\s?/, '').trim())
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** `[name, description]` for every metric in contract/aws-names.ts, in source order. */
export function brokerMetrics(): Array<[string, string]> {
  const source = ts.createSourceFile(NAMES_FILE, readFileSync(join(REPO_ROOT, NAMES_FILE), 'utf8'), ts.ScriptTarget.ES2022, true);
  const metrics: Array<[string, string]> = [];
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      const name = declaration.name.getText(source);
      let initializer = declaration.initializer;
      if (initializer && ts.isAsExpression(initializer)) initializer = initializer.expression;
      if (name === 'METRIC_NAMES' && initializer && ts.isObjectLiteralExpression(initializer)) {
        for (const property of initializer.properties) {
          if (ts.isPropertyAssignment(property) && ts.isStringLiteral(property.initializer)) {
            metrics.push([property.initializer.text, docComment(property, source)]);
          }
        }
      }
      if (name === 'ACTIVE_KEY_AGE_METRIC' && initializer && ts.isStringLiteral(initializer)) {
        metrics.push([initializer.text, docComment(statement, source)]);
      }
    }
  }
  if (metrics.length === 0) throw new Error(`${NAMES_FILE}: found no METRIC_NAMES object literal of strings`);
  return metrics;
}

export const GENERATED_TABLES: readonly GeneratedTable[] = [
  {
    name: 'metrics',
    file: 'docs/operations-alarms.md',
    render: () =>
      [
        '| metric | what it counts (from `contract/aws-names.ts`) |',
        '| --- | --- |',
        ...brokerMetrics().map(([name, text]) => `| \`${name}\` | ${text.replace(/\|/g, '\\|')} |`),
      ].join('\n'),
  },
];

/** The markers around a generated table. */
export function markers(name: string): { begin: string; end: string } {
  return { begin: `<!-- generated:${name} -->`, end: `<!-- /generated:${name} -->` };
}

/**
 * The page's text with the table between its markers replaced by `table`.
 * @throws Error naming the page and the missing marker
 */
export function withTable(file: string, text: string, name: string, table: string): string {
  const { begin, end } = markers(name);
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${file}: no ${begin} … ${end} block for the generated table "${name}"`);
  return `${text.slice(0, from + begin.length)}\n${table}\n${text.slice(to)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const table of GENERATED_TABLES) {
    const path = join(REPO_ROOT, table.file);
    const before = readFileSync(path, 'utf8');
    const after = withTable(table.file, before, table.name, table.render());
    if (after !== before) writeFileSync(path, after);
    process.stdout.write(`${table.file}: ${table.name} ${after === before ? 'already current' : 'rewritten'}\n`);
  }
}
