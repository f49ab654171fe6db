/**
 * The repository's Markdown pages as the docs' tests read them: lines with their file and number, whether they sit
 * in a fenced code block, the paragraph they belong to, and the tables they hold. A problem found is reported as
 * `file:line: "the sentence" — what the code says`, so the message says where to edit and what to write.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../support/broker-process';

export interface DocLine {
  /** Repository-relative path, e.g. `docs/security.md`. */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  readonly text: string;
  /** Inside a fenced code block (```). */
  readonly inCode: boolean;
  /** Lines of one paragraph (or one code block) share this number; a blank line starts a new one. */
  readonly paragraph: number;
}

export interface Doc {
  readonly file: string;
  readonly lines: readonly DocLine[];
}

export interface TableRow {
  readonly line: DocLine;
  readonly cells: readonly string[];
}

export interface Table {
  readonly header: readonly string[];
  readonly rows: readonly TableRow[];
}

/** README.md and every page under docs/. */
export function readDocs(): Doc[] {
  const files = [
    'README.md',
    ...readdirSync(join(repoRoot, 'docs'))
      .filter((name) => name.endsWith('.md'))
      .map((name) => `docs/${name}`),
  ];
  return files.map((file) => parseDoc(file, readFileSync(join(repoRoot, file), 'utf8')));
}

export function parseDoc(file: string, text: string): Doc {
  let inCode = false;
  let paragraph = 0;
  const lines = text.split('\n').map((raw, index): DocLine => {
    const fence = /^\s*```/.test(raw);
    if (fence) {
      if (!inCode) paragraph += 1;
      inCode = !inCode;
      return { file, line: index + 1, text: raw, inCode: true, paragraph };
    }
    if (!inCode && raw.trim() === '') paragraph += 1;
    return { file, line: index + 1, text: raw, inCode, paragraph };
  });
  return { file, lines };
}

/** The Markdown tables of a page (pipes outside code spans split cells; backslash-escaped pipes do not). */
export function tablesOf(doc: Doc): Table[] {
  const tables: Table[] = [];
  let current: { header: string[]; rows: TableRow[] } | undefined;
  for (const [index, line] of doc.lines.entries()) {
    const isRow = !line.inCode && /^\s*\|.*\|\s*$/.test(line.text);
    if (!isRow) {
      current = undefined;
      continue;
    }
    const next = doc.lines[index + 1];
    if (current === undefined) {
      if (next && /^\s*\|[\s:|-]+\|\s*$/.test(next.text)) {
        current = { header: splitCells(line.text), rows: [] };
        tables.push(current);
      }
      continue;
    }
    if (/^\s*\|[\s:|-]+\|\s*$/.test(line.text)) continue;
    current.rows.push({ line, cells: splitCells(line.text) });
  }
  return tables;
}

function splitCells(row: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let inSpan = false;
  const body = row.trim().slice(1, -1);
  for (let i = 0; i < body.length; i += 1) {
    const char = body[i] ?? '';
    if (char === '\\' && body[i + 1] === '|') {
      cell += '|';
      i += 1;
    } else if (char === '`') {
      inSpan = !inSpan;
      cell += char;
    } else if (char === '|' && !inSpan) {
      cells.push(cell.trim());
      cell = '';
    } else {
      cell += char;
    }
  }
  cells.push(cell.trim());
  return cells;
}

/** The text of every code span of a line. */
export function codeSpans(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((match) => match[1] ?? '');
}

/** `file:line: "…the line, trimmed…" — problem`. */
/**
 * The doc's prose with each paragraph's lines joined into one (reported at its first line), so a count and its noun
 * on two lines ("thirteen⏎CloudWatch alarms") are read together; code and table lines stay as they are.
 */
export function proseOf(doc: Doc): DocLine[] {
  const joined: DocLine[] = [];
  for (const line of doc.lines) {
    const last = joined.at(-1);
    const prose = (entry: DocLine) => !entry.inCode && !entry.text.trimStart().startsWith('|');
    if (last && last.paragraph === line.paragraph && prose(last) && prose(line)) {
      joined[joined.length - 1] = { ...last, text: `${last.text.trimEnd()} ${line.text.trim()}` };
    } else joined.push(line);
  }
  return joined;
}

export function problemAt(line: DocLine, problem: string): string {
  const sentence = line.text.trim();
  return `${line.file}:${String(line.line)}: "${sentence.length > 160 ? `${sentence.slice(0, 157)}...` : sentence}" — ${problem}`;
}

const NUMBER_WORDS = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
  'twenty',
];
/** A regular expression alternative matching a count written as a word (up to twenty) or in digits. */
export const COUNT = `(?:${NUMBER_WORDS.join('|')}|\\d+)`;

/** `"four"` → 4, `"12"` → 12. */
export function countValue(text: string): number {
  const word = NUMBER_WORDS.indexOf(text.toLowerCase());
  return word >= 0 ? word : Number(text);
}

/** 4 → `four` (as the docs write counts up to twenty). */
export function countWord(count: number): string {
  return NUMBER_WORDS[count] ?? String(count);
}

/** Repository-relative path of an absolute one. */
export function fromRoot(path: string): string {
  return relative(repoRoot, path);
}
