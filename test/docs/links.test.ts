/**
 * Every relative link in README.md and docs/*.md leads somewhere: the file exists, and a `#fragment` names a heading
 * (or an HTML anchor) of the target page by GitHub's rules. The pages name no file the repository does not hold.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/broker-process';
import { parseDoc, problemAt, readDocs, type Doc } from './markdown';

/**
 * The fragment GitHub gives a heading (github-slugger, which GitHub's Markdown renderer follows): the rendered text in
 * lower case, every character that is not a letter, a mark, a digit, a connector (`_`), a space or a hyphen dropped,
 * spaces turned into hyphens; a repeated slug gets `-1`, `-2`, … in order.
 */
function githubSlug(headingText: string): string {
  const rendered = headingText
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/[`*]/g, ''); // code spans and emphasis markers
  return rendered
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The fragments a page offers: its headings' slugs (with GitHub's -1, -2 for repeats) and `<a id|name="…">` anchors. */
function anchorsOf(doc: Doc): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of doc.lines) {
    if (line.inCode) continue;
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line.text);
    if (heading) {
      const base = githubSlug(heading[1] ?? '');
      const repeats = seen.get(base) ?? 0;
      seen.set(base, repeats + 1);
      anchors.add(repeats === 0 ? base : `${base}-${String(repeats)}`);
    }
    for (const html of line.text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(html[1] ?? '');
  }
  return anchors;
}

/** Relative links of a line outside code spans: `[text](target)`. */
function linksOf(text: string): string[] {
  const withoutSpans = text.replace(/`[^`]*`/g, '');
  return [...withoutSpans.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((match) => match[1] ?? '');
}

function linkProblems(docs: readonly Doc[]): string[] {
  const byFile = new Map(docs.map((doc) => [doc.file, doc]));
  const anchorCache = new Map<string, Set<string>>();
  const anchorsFor = (file: string, doc: Doc) => {
    const cached = anchorCache.get(file);
    if (cached) return cached;
    const anchors = anchorsOf(doc);
    anchorCache.set(file, anchors);
    return anchors;
  };
  const problems: string[] = [];
  for (const doc of docs) {
    for (const line of doc.lines) {
      if (line.inCode) continue;
      for (const target of linksOf(line.text)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: …: not checked offline
        const [path = '', fragment] = target.split('#', 2);
        const file = path === '' ? doc.file : normalize(join(dirname(doc.file), decodeURIComponent(path)));
        if (file.startsWith('..')) {
          problems.push(problemAt(line, `links to ${target}, outside the repository`));
          continue;
        }
        if (path !== '' && !existsSync(join(repoRoot, file))) {
          problems.push(problemAt(line, `links to ${target}, but ${file} does not exist`));
          continue;
        }
        if (fragment === undefined || !file.endsWith('.md')) continue;
        const targetDoc = byFile.get(file) ?? parseDoc(file, readFileSync(join(repoRoot, file), 'utf8'));
        const anchors = anchorsFor(file, targetDoc);
        if (!anchors.has(fragment)) {
          problems.push(
            problemAt(
              line,
              `links to ${target}, but ${file} has no heading with the anchor #${fragment} (it has: ${[...anchors].join(', ')})`,
            ),
          );
        }
      }
    }
  }
  return problems;
}

describe('links and anchors in README.md and docs/', () => {
  const docs = readDocs();

  it('every relative link leads to a file of the repository, and every #anchor to a heading of its page', () => {
    expect(linkProblems(docs)).toEqual([]);
  });

  it('no page names a Markdown file the repository does not hold, or a seed', () => {
    const problems: string[] = [];
    for (const doc of docs) {
      for (const line of doc.lines) {
        const withoutUrls = line.text.replace(/[a-z]+:\/\/[^\s)>\]]+/gi, '');
        for (const match of withoutUrls.matchAll(/(?<![\w/.-])([\w./-]*[\w-]\.md)\b/g)) {
          const name = match[1] ?? '';
          const candidates = [join(dirname(doc.file), name), name, join('docs', name)];
          if (!candidates.some((candidate) => existsSync(join(repoRoot, candidate)))) {
            problems.push(problemAt(line, `names ${name}, which is not in the repository: link the page here that says it, or say it`));
          }
        }
        if (/\bseeds? \d{3}\b/i.test(line.text)) problems.push(problemAt(line, 'names a seed, which is not in the repository'));
      }
    }
    expect(problems).toEqual([]);
  });

  it('README.md stays a guide of at most 300 lines (the detail goes to a page under docs/)', () => {
    const readme = docs.find((doc) => doc.file === 'README.md');
    const count = (readme?.lines.length ?? 1) - 1; // the text ends with a newline
    expect(count, `README.md has ${String(count)} lines: move detail to a docs/ page and link it`).toBeLessThanOrEqual(300);
  });

  it('the check itself: slugs as GitHub makes them, and a dead anchor is reported with its file and line', () => {
    expect(githubSlug('Quick start (no account needed)')).toBe('quick-start-no-account-needed');
    expect(githubSlug('The reverse direction: Azure and GitHub into AWS')).toBe('the-reverse-direction-azure-and-github-into-aws');
    expect(githubSlug('`broker-keys status|rotate`')).toBe('broker-keys-statusrotate');
    expect(githubSlug('Node.js versions')).toBe('nodejs-versions');
    const page = parseDoc('docs/x.md', '# Title\n\n## Title\n\nSee [a](#title-1), [b](#v1-or-v2-tokens) and [c](missing.md).\n');
    expect(linkProblems([page])).toEqual([
      expect.stringMatching(
        /^docs\/x\.md:5: ".*" — links to #v1-or-v2-tokens, but docs\/x\.md has no heading with the anchor #v1-or-v2-tokens \(it has: title, title-1\)$/,
      ),
      expect.stringMatching(/^docs\/x\.md:5: ".*" — links to missing\.md, but docs\/missing\.md does not exist$/),
    ]);
  });
});
