/**
 * What README.md and docs/ count or list, checked against the code that decides it: the synthesized stack (functions,
 * alarms and outputs for each signer), the configuration schema (fields and defaults), the construct's props, the
 * CLIs' `--help` (flags) and exit codes, the metric names, the bench's sections, and the tables generated from the
 * code. Nothing here is today's number: each expectation is read from the code, so a feature that adds an alarm, an
 * output, a field or a flag fails this test with the file, the line and the sentence to update.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT as BROKER_TOKEN_EXIT, HELP as BROKER_TOKEN_HELP } from '../../client/cli';
import { DOCTOR_EXIT, DOCTOR_HELP } from '../../client/doctor/cli';
import { IDENTITY_ENDPOINT_EXIT, IDENTITY_ENDPOINT_HELP } from '../../client/identity-endpoint/cli';
import { KEYS_EXIT, KEYS_HELP } from '../../client/keys/cli';
import { ENTRA_AWS_EXIT, ENTRA_AWS_HELP } from '../../client/reverse-direction/cli';
import { ACTIVE_KEY_AGE_METRIC, METRIC_NAMES } from '../../contract/aws-names';
import { parseBrokerConfig, validateBrokerConfig, type BrokerConfigInput } from '../../contract/broker-config';
import { DEMO_EXIT, DEMO_USAGE } from '../../local/demo/demo-usage';
import { START_EXIT, START_USAGE } from '../../local/runtime/start-usage';
import { GENERATED_TABLES, markers, withTable } from '../../scripts/docs-tables';
import { brokerStack, cdkJsonBrokerContext } from '../lib/helpers';
import { repoRoot } from '../support/broker-process';
import { codeSpans, COUNT, countValue, countWord, problemAt, proseOf, readDocs, tablesOf, type Doc, type DocLine } from './markdown';

const docs = readDocs();
const readme = docs.find((doc) => doc.file === 'README.md') as Doc;
const page = (file: string) => docs.find((doc) => doc.file === file) as Doc;

interface StackFacts {
  readonly functions: number;
  readonly alarms: readonly string[];
  readonly outputs: readonly string[];
  /** Statements of the DirectInvocationGuardPolicy output (the SCP). */
  readonly scpStatements: number;
}

/** The stack `cdk synth` makes from cdk.json's example configuration, with the given signer. */
function synthesize(signer: 'kms' | 'aws-sts'): StackFacts {
  const { stack, template } = brokerStack({ ...(cdkJsonBrokerContext() as BrokerConfigInput), signer });
  const json = template.toJSON() as { Resources: Record<string, { Type: string }>; Outputs: Record<string, unknown> };
  const alarms = stack.broker.monitoring?.alarms ?? {};
  return {
    functions: Object.values(json.Resources).filter((resource) => resource.Type === 'AWS::Lambda::Function').length,
    alarms: Object.entries(alarms)
      .filter(([, alarm]) => alarm !== undefined)
      .map(([name]) => name),
    outputs: Object.keys(json.Outputs),
    scpStatements: (JSON.stringify(json.Outputs.DirectInvocationGuardPolicy ?? '').match(/\\"Sid\\":/g) ?? []).length,
  };
}

/** The CLIs the docs name, with their help text and exit codes. */
const CLIS: ReadonlyArray<{ name: string; pattern: RegExp; help: string; exits: Readonly<Record<string, number>> | undefined }> = [
  { name: 'broker-token', pattern: /\bbroker-token\b/, help: BROKER_TOKEN_HELP, exits: BROKER_TOKEN_EXIT },
  { name: 'broker-doctor', pattern: /\bbroker-doctor\b/, help: DOCTOR_HELP, exits: DOCTOR_EXIT },
  { name: 'broker-keys', pattern: /\bbroker-keys\b/, help: KEYS_HELP, exits: KEYS_EXIT },
  { name: 'entra-aws-credentials', pattern: /\bentra-aws-credentials\b/, help: ENTRA_AWS_HELP, exits: ENTRA_AWS_EXIT },
  {
    name: 'broker-identity-endpoint',
    pattern: /\bbroker-identity-endpoint\b/,
    help: IDENTITY_ENDPOINT_HELP,
    exits: IDENTITY_ENDPOINT_EXIT,
  },
  { name: 'npm start', pattern: /\bnpm start\b/, help: START_USAGE, exits: START_EXIT },
  { name: 'npm run demo', pattern: /\bnpm run demo\b/, help: DEMO_USAGE, exits: DEMO_EXIT },
  { name: 'npm run bench', pattern: /\bnpm run bench\b/, help: '--only', exits: undefined },
];

/** The bench's sections: its `--only` values (local/bench/main.ts runs on import, so its list is read as text). */
function benchSections(): string[] {
  const source = readFileSync(join(repoRoot, 'local/bench/main.ts'), 'utf8');
  const list = /const SECTIONS = \[([^\]]*)\]/.exec(source)?.[1];
  if (list === undefined) throw new Error('local/bench/main.ts: no "const SECTIONS = [...]" list of the --only values');
  return [...list.matchAll(/'([^']+)'/g)].map((match) => match[1] ?? '');
}

/** The optional props of TokenBrokerProps, read from its declaration. */
function optionalProps(): string[] {
  const file = 'lib/token-broker-props.ts';
  const source = ts.createSourceFile(file, readFileSync(join(repoRoot, file), 'utf8'), ts.ScriptTarget.ES2022, true);
  const props = source.statements.find(
    (statement): statement is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(statement) && statement.name.text === 'TokenBrokerProps',
  );
  if (!props) throw new Error(`${file}: no interface TokenBrokerProps`);
  return props.members.filter((member) => member.questionToken !== undefined).map((member) => member.name?.getText(source) ?? '');
}

/** The configuration fields the schema knows, as its "unknown field" message lists them. */
function configFields(): string[] {
  const result = validateBrokerConfig({ ...(cdkJsonBrokerContext() as object), '~': 1 });
  const problem = (result.problems as string[]).find((text) => text.startsWith('~: unknown field'));
  const known = problem ? /known: (.*)\)$/.exec(problem)?.[1] : undefined;
  if (known === undefined)
    throw new Error(`contract/broker-config.ts: no "unknown field (known: …)" problem for "~": ${JSON.stringify(result)}`);
  return known.split(', ');
}

/** The ways the docs write a figure of seconds: `300`, `1 day`, `2 days`, `1 hour`, `60 s`, `5 minutes`. */
function secondsForms(seconds: number): string[] {
  const forms = [String(seconds), `${String(seconds)} s`];
  for (const [unit, size] of [
    ['day', 86_400],
    ['hour', 3_600],
    ['minute', 60],
  ] as const) {
    if (seconds % size === 0) forms.push(`${String(seconds / size)} ${unit}${seconds / size === 1 ? '' : 's'}`);
  }
  return forms;
}

/** The CLI a line's segment runs, and the flags written after its name in that segment. */
function flagsAfterCli(segment: string): Array<{ cli: (typeof CLIS)[number]; flags: string[] }> {
  const found: Array<{ cli: (typeof CLIS)[number]; flags: string[] }> = [];
  for (const cli of CLIS) {
    const match = cli.pattern.exec(segment);
    if (!match) continue;
    // Up to the end of the command: a pipe, a command separator or a shell comment.
    const command = segment.slice(match.index + match[0].length).split(/\s(?:\||&&|;|#)\s|\$\(|\)\s*$/)[0] ?? '';
    found.push({ cli, flags: [...command.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)].map((flag) => flag[0]) });
  }
  return found;
}

describe('README.md and docs/ against the code', () => {
  let kms: StackFacts;
  let awsSts: StackFacts;
  beforeAll(() => {
    kms = synthesize('kms');
    awsSts = synthesize('aws-sts');
  }, 120_000);

  it("every count of functions or alarms is the synthesized stack's, for the signer the sentence names", () => {
    const problems: string[] = [];
    const pattern = new RegExp(
      `\\b(${COUNT}) (?:Lambda |CloudWatch )?(functions|alarms)\\b( with \`aws-sts\`)?(?:[^.;]*?, (${COUNT}) with \`aws-sts\`)?`,
      'gi',
    );
    for (const doc of docs) {
      for (const line of proseOf(doc)) {
        if (line.inCode) continue;
        for (const match of line.text.matchAll(pattern)) {
          const kind = (match[2] ?? '').toLowerCase() as 'functions' | 'alarms';
          const count = (facts: StackFacts) => (kind === 'functions' ? facts.functions : facts.alarms.length);
          const stated = countValue(match[1] ?? '');
          const [signer, facts] = match[3] ? ['aws-sts', awsSts] : ['kms', kms];
          if (stated !== count(facts)) {
            problems.push(
              problemAt(line, `says ${match[1] ?? ''} ${kind}; the stack with signer ${signer} has ${countWord(count(facts))}`),
            );
          }
          if (match[4] !== undefined && countValue(match[4]) !== count(awsSts)) {
            problems.push(
              problemAt(line, `says ${match[4]} ${kind} with aws-sts; the stack with signer aws-sts has ${countWord(count(awsSts))}`),
            );
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("every count of the SCP's statements is the DirectInvocationGuardPolicy output's", () => {
    expect(kms.scpStatements, 'the DirectInvocationGuardPolicy output has no "Sid" (its format changed?)').toBeGreaterThan(0);
    const problems: string[] = [];
    for (const doc of docs) {
      const paragraphs = new Map<number, DocLine[]>();
      for (const line of doc.lines) if (!line.inCode) paragraphs.set(line.paragraph, [...(paragraphs.get(line.paragraph) ?? []), line]);
      for (const lines of paragraphs.values()) {
        const text = lines.map((line) => line.text).join(' ');
        if (!/\bSCP\b|DirectInvocationGuardPolicy/.test(text)) continue;
        for (const match of text.matchAll(new RegExp(`\\b(${COUNT})\\s+statements\\b`, 'gi'))) {
          const stated = countValue(match[1] ?? '');
          if (stated !== kms.scpStatements) {
            const line = lines.find((candidate) => candidate.text.includes(match[1] ?? '')) ?? lines.at(0);
            if (!line) continue;
            problems.push(
              problemAt(
                line,
                `says ${match[1] ?? ''} statements; the DirectInvocationGuardPolicy output has ${countWord(kms.scpStatements)}`,
              ),
            );
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("README's outputs table lists every output of the stack, and nothing else", () => {
    const table = tablesOf(readme).find((candidate) => candidate.header[0] === 'output');
    expect(table, 'README.md has no table whose first column is "output"').toBeDefined();
    const outputs = new Set([...kms.outputs, ...awsSts.outputs]);
    const matched = new Set<string>();
    const problems: string[] = [];
    for (const row of table?.rows ?? []) {
      for (const name of codeSpans(row.cells[0] ?? '')) {
        // `TokenUrlGraph` names one output; `FederatedCredentialCommand<clientId without dashes>` or `X…` a family.
        const prefix = name.replace(/(<[^>]*>|…)$/, '');
        const family = prefix !== name;
        const hits = [...outputs].filter((output) => (family ? output.startsWith(prefix) : output === name));
        if (hits.length === 0) problems.push(problemAt(row.line, `names the output ${name}, which the stack does not have`));
        for (const hit of hits) matched.add(hit);
      }
    }
    const lastRow = table?.rows.at(-1)?.line;
    for (const output of outputs) {
      if (!matched.has(output) && lastRow) problems.push(problemAt(lastRow, `the table lacks the stack's output ${output}: add a row`));
    }
    expect(problems).toEqual([]);
  });

  it("docs/operations-alarms.md's table has one row per alarm of the construct (alarms.<name>)", () => {
    const doc = page('docs/operations-alarms.md');
    const table = tablesOf(doc).find((candidate) => candidate.header[0]?.startsWith('alarm'));
    expect(table, 'docs/operations-alarms.md has no table whose first column is "alarm"').toBeDefined();
    const rows = new Map((table?.rows ?? []).map((row) => [codeSpans(row.cells[0] ?? '')[0] ?? '', row.line]));
    const alarms = new Set([...kms.alarms, ...awsSts.alarms]);
    const problems: string[] = [];
    for (const [name, line] of rows) if (!alarms.has(name)) problems.push(problemAt(line, `${name} is not an alarm of the construct`));
    const lastRow = table?.rows.at(-1)?.line;
    for (const alarm of alarms) {
      if (!rows.has(alarm) && lastRow) problems.push(problemAt(lastRow, `the table lacks the alarm ${alarm}: add a row and a section`));
    }
    expect(problems).toEqual([]);
  });

  it("README's configuration table has a row per field of the schema, with the schema's defaults", () => {
    const table = tablesOf(readme).find((candidate) => candidate.header.join('|') === 'field|type|default|meaning');
    expect(table, 'README.md has no "field | type | default | meaning" table').toBeDefined();
    const rows = new Map((table?.rows ?? []).map((row) => [codeSpans(row.cells[0] ?? '')[0] ?? '', row]));
    const fields = configFields();
    const parsed = parseBrokerConfig(cdkJsonBrokerContext());
    const defaults: Record<string, unknown> = { ...parsed.runtime, ...parsed.deployment };
    const given = new Set(Object.keys(cdkJsonBrokerContext() as object));
    const problems: string[] = [];
    const lastRow = table?.rows.at(-1)?.line;
    for (const field of fields)
      if (!rows.has(field) && lastRow) problems.push(problemAt(lastRow, `the table lacks the field ${field}: add a row`));
    for (const [field, row] of rows) {
      if (!fields.includes(field)) {
        problems.push(problemAt(row.line, `${field} is not a field of the configuration (contract/broker-config.ts)`));
        continue;
      }
      if (given.has(field)) continue; // set in cdk.json: its default is not what parsing returned
      const cell = row.cells[2] ?? '';
      const value = defaults[field];
      const leaves = typeof value === 'object' && value !== null ? Object.values(value) : [value];
      for (const leaf of leaves) {
        const forms = typeof leaf === 'number' ? secondsForms(leaf) : typeof leaf === 'string' ? [leaf] : [];
        if (forms.length > 0 && !forms.some((form) => cell.includes(form))) {
          problems.push(
            problemAt(
              row.line,
              `the default of ${field} is ${JSON.stringify(leaf)} in the schema; the default column says ${JSON.stringify(cell)}`,
            ),
          );
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("README's optional props are the construct's (TokenBrokerProps)", () => {
    const line = readme.lines.find((candidate) => candidate.text.startsWith('Optional props:'));
    expect(line, 'README.md has no paragraph starting "Optional props:"').toBeDefined();
    const paragraph = readme.lines
      .filter((candidate) => candidate.paragraph === line?.paragraph)
      .map((candidate) => candidate.text)
      .join(' ');
    const props = optionalProps();
    const named = new Set(codeSpans(paragraph).filter((span) => /^[a-z]+(?:[A-Z][a-z0-9]*)+$/.test(span) || props.includes(span)));
    const problems: string[] = [];
    for (const prop of props) if (!named.has(prop) && line) problems.push(problemAt(line, `does not name the optional prop ${prop}`));
    for (const name of named) {
      if (!props.includes(name) && name !== 'TokenBroker' && line) {
        problems.push(problemAt(line, `names ${name}, which is not an optional prop of TokenBrokerProps (lib/token-broker-props.ts)`));
      }
    }
    expect(problems).toEqual([]);
  });

  it("every flag written after a command's name is one its --help lists; --only values are the bench's sections", () => {
    const sections = benchSections();
    const problems: string[] = [];
    for (const doc of docs) {
      for (const line of doc.lines) {
        const segments = line.inCode ? [line.text] : codeSpans(line.text);
        for (const segment of segments) {
          for (const { cli, flags } of flagsAfterCli(segment)) {
            for (const flag of flags) {
              if (flag === '--help' || new RegExp(`${flag}(?![a-z0-9-])`).test(cli.help)) continue;
              problems.push(problemAt(line, `${cli.name} has no option ${flag} (see its --help)`));
            }
          }
          for (const only of segment.matchAll(/--only[ =]([a-z0-9|-]+)/g)) {
            for (const name of (only[1] ?? '').split('|')) {
              if (!sections.includes(name))
                problems.push(problemAt(line, `the bench has no section ${name} (--only ${sections.join('|')})`));
            }
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("README's npm run bench line lists every bench section", () => {
    const sections = benchSections();
    const line = readme.lines.find((candidate) => /npm run bench.*--only/.test(candidate.text));
    expect(line, 'README.md has no "npm run bench … --only …" line').toBeDefined();
    const listed = /--only ([a-z0-9|-]+)/.exec(line?.text ?? '')?.[1]?.split('|') ?? [];
    expect(listed.length > 0 && line ? [] : ['no --only list']).toEqual([]);
    const missing = sections.filter((section) => !listed.includes(section));
    expect(missing.map((section) => problemAt(line as DocLine, `lacks the bench section ${section}`))).toEqual([]);
  });

  it('every "Exit codes:" list is the exit codes of the command its section is about', () => {
    const problems: string[] = [];
    for (const doc of docs) {
      let cliOfSection: (typeof CLIS)[number] | undefined;
      for (const line of doc.lines) {
        if (/^#{1,6}\s/.test(line.text)) cliOfSection = undefined;
        const named = CLIS.find((cli) => cli.pattern.test(line.text));
        const list = /exit codes?:?\s+(\d.*)$/i.exec(line.text);
        if (list && !line.inCode) {
          // The list runs to the end of its sentence, over the paragraph's next lines.
          const rest = doc.lines
            .filter((next) => next.paragraph === line.paragraph && next.line > line.line)
            .map((next) => next.text)
            .join(' ');
          const sentence = `${list[1] ?? ''} ${rest}`.split(/\.(?:\s|$)/)[0] ?? '';
          const codes = [...sentence.matchAll(/(?:^|[,;]\s*)(\d+)\s/g)].map((code) => Number(code[1]));
          const paragraphCli = CLIS.find((cli) =>
            doc.lines.some((other) => other.paragraph === line.paragraph && cli.pattern.test(other.text)),
          );
          const cli = paragraphCli ?? named ?? cliOfSection;
          if (!cli?.exits) {
            problems.push(problemAt(line, 'lists exit codes, but no command is named in its paragraph or section'));
          } else {
            const expected = [...new Set(Object.values(cli.exits))].sort();
            if (JSON.stringify([...codes].sort()) !== JSON.stringify(expected)) {
              problems.push(problemAt(line, `lists exit codes ${codes.join(', ')}; ${cli.name} exits with ${expected.join(', ')}`));
            }
          }
        }
        if (named) cliOfSection = named;
      }
    }
    expect(problems).toEqual([]);
  });

  it('every metric a metrics table names is one the broker writes (contract/aws-names.ts)', () => {
    const metrics = new Set<string>([...Object.values(METRIC_NAMES), ACTIVE_KEY_AGE_METRIC]);
    const problems: string[] = [];
    for (const doc of docs) {
      for (const table of tablesOf(doc)) {
        if (table.header[0] !== 'metric') continue;
        for (const row of table.rows) {
          const name = codeSpans(row.cells[0] ?? '')[0] ?? '';
          if (!metrics.has(name)) problems.push(problemAt(row.line, `${name} is not a metric the broker writes`));
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('the generated tables are current (npx tsx scripts/docs-tables.ts rewrites them)', () => {
    const stale: string[] = [];
    for (const table of GENERATED_TABLES) {
      const text = readFileSync(join(repoRoot, table.file), 'utf8');
      const current = withTable(table.file, text, table.name, table.render());
      if (current !== text) {
        const line = text.slice(0, text.indexOf(markers(table.name).begin)).split('\n').length;
        stale.push(`${table.file}:${String(line)}: the generated table "${table.name}" is not current: run npx tsx scripts/docs-tables.ts`);
      }
    }
    expect(stale).toEqual([]);
    // Every metric is in the generated table, with its doc comment.
    const metricsTable = GENERATED_TABLES.find((table) => table.name === 'metrics')?.render() ?? '';
    for (const metric of [...Object.values(METRIC_NAMES), ACTIVE_KEY_AGE_METRIC])
      expect(metricsTable).toMatch(new RegExp(`\\| \`${metric}\` \\| \\S`));
  });

  it("no page or --help tells to run one of the package's commands with npx (it would fetch an unclaimed registry name)", () => {
    const bins = Object.keys((JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin);
    const npx = new RegExp(`\\bnpx (?!--no-install )(?:--?[a-z-]+ )*(${bins.join('|')})\\b`);
    const problems: string[] = [];
    for (const doc of docs) {
      for (const line of doc.lines) {
        const match = npx.exec(line.text);
        // "never `npx x`" warns against it.
        if (match && !/\bnever\W+(?:plain\W+)?$/i.test(line.text.slice(0, match.index))) {
          problems.push(
            problemAt(
              line,
              `runs ${match[1] ?? ''} with npx: write node_modules/.bin/${match[1] ?? ''}, the installed command, or npx --no-install ${match[1] ?? ''}`,
            ),
          );
        }
      }
    }
    for (const cli of CLIS) {
      const match = npx.exec(cli.help);
      if (match) problems.push(`${cli.name} --help: runs ${match[1] ?? ''} with npx`);
    }
    expect(problems).toEqual([]);
  });

  it('the checks themselves report the file, the line and the sentence', () => {
    const fake = { file: 'README.md', line: 7, text: 'The stack creates three functions.', inCode: false, paragraph: 1 };
    expect(problemAt(fake, 'the stack with signer kms has four')).toBe(
      'README.md:7: "The stack creates three functions." — the stack with signer kms has four',
    );
    expect(flagsAfterCli('npx --no-install broker-token graph --url "$BROKER_URL" --json | jq .')).toEqual([
      { cli: CLIS[0], flags: ['--url', '--json'] },
    ]);
  });
});
