/**
 * `broker-doctor` in-process: against the broker's own local runtime (its real discovery and JWKS routes) and a
 * deliberately broken issuer; what it prints and how it exits.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCTOR_EXIT, DOCTOR_HELP, main } from '../../../client/doctor/cli';
import { federatedCredentialCreateCommand } from '../../../contract/federated-credential';
import { parseLocalConfig } from '../../../local/runtime/local-config';
import { startLocalRuntime, type LocalRuntime } from '../../../local/runtime/local-runtime';
import { startFakeIssuer, type FakeIssuer } from '../../support/fake-issuer';
import { rsaKeyPair } from '../../support/rsa-keys';

const CLIENT = '22222222-2222-2222-2222-222222222222';
const keyDir = mkdtempSync(join(tmpdir(), 'broker-doctor-'));
let runtime: LocalRuntime;
let broken: FakeIssuer;

beforeAll(async () => {
  const signingKeyFile = join(keyDir, 'signing-key.pem');
  writeFileSync(signingKeyFile, rsaKeyPair().privateKeyPem, { mode: 0o600 });
  runtime = await startLocalRuntime({
    config: parseLocalConfig({
      tenantId: '11111111-1111-1111-1111-111111111111',
      clientId: CLIENT,
      scopes: { graph: 'https://graph.microsoft.com/.default' },
      // Never called (the doctor reads only discovery and JWKS); loopback, so the runtime may run unsigned.
      authorityHost: 'http://127.0.0.1:9',
      signingKeyFile,
    }),
    port: 0,
  });
  broken = await startFakeIssuer([]);
});

afterAll(async () => {
  await runtime?.close();
  await broken?.close();
  rmSync(keyDir, { recursive: true, force: true });
});

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr, lines: stdout.trimEnd().split('\n') };
}

describe('broker-doctor against the local runtime', () => {
  it('exits 0, warns that loopback http is local only, and prints the credential values and the az command', async () => {
    const { code, lines, stderr } = await run(['--issuer', runtime.issuer, '--client-id', CLIENT]);
    const jwks = (await (await fetch(`${runtime.issuer}/jwks`)).json()) as { keys: { kid: string }[] };

    expect({ code, stderr }).toStrictEqual({ code: DOCTOR_EXIT.accepted, stderr: '' });
    expect(lines.slice(0, 2)).toStrictEqual([
      `warning: issuer: the issuer ${runtime.issuer} is http:// on a loopback host: fine for the local runtime and the Entra emulator, but Entra itself reads only public https URLs`,
      `warning: jwks: jwks_uri ${runtime.issuer}/jwks is http:// on a loopback host: fine for the local runtime and the Entra emulator, but Entra itself reads only public https URLs`,
    ]);
    expect(lines[2]).toMatch(
      new RegExp(
        `^Entra would accept ${runtime.issuer}: 1 RS256 signing key: ${jwks.keys[0]?.kid} \\(2048 bits\\); discovery \\d+ ms, jwks \\d+ ms\\.$`,
      ),
    );
    expect(lines.slice(3)).toStrictEqual([
      'Federated credential (app registration > Certificates & secrets > Federated credentials > Other issuer):',
      `  issuer:   ${runtime.issuer}`,
      '  subject:  aws-token-broker',
      '  audience: api://AzureADTokenExchange',
      federatedCredentialCreateCommand({
        clientId: CLIENT,
        issuer: runtime.issuer,
        subject: 'aws-token-broker',
        audience: 'api://AzureADTokenExchange',
      }),
    ]);
  });

  it('uses the given subject and audience, and a placeholder client id when none is given', async () => {
    const { code, stdout } = await run(['--issuer', runtime.issuer, '--subject', 'my-broker', '--audience', 'api://custom']);
    expect(code).toBe(DOCTOR_EXIT.accepted);
    expect(stdout).toContain(
      `--id '<application-client-id>' --parameters '{"name":"aws-token-broker","issuer":"${runtime.issuer}","subject":"my-broker","audiences":["api://custom"]}'`,
    );
  });

  it('exits 1 naming the trailing slash when the issuer is given with one', async () => {
    const { code, lines } = await run(['--issuer', `${runtime.issuer}/`]);
    expect(code).toBe(DOCTOR_EXIT.problems);
    expect(lines).toContain(
      `problem: discovery: "issuer" is "${runtime.issuer}" but the URL is "${runtime.issuer}/": they differ by a trailing slash (Entra compares them byte for byte; use the same spelling in the issuer URL, the document and the credential)`,
    );
    expect(lines.at(-1)).toBe(`Entra would not accept ${runtime.issuer}/: 1 problem.`);
  });
});

describe('broker-doctor against the local runtime with signer "aws-sts"', () => {
  it("exits 0 for the STS outbound-federation stand-in's issuer: its RS256 key counts, its ES384 key is a warning", async () => {
    const stsRuntime = await startLocalRuntime({
      config: parseLocalConfig({
        tenantId: '11111111-1111-1111-1111-111111111111',
        clientId: CLIENT,
        scopes: { graph: 'https://graph.microsoft.com/.default' },
        authorityHost: 'http://127.0.0.1:9',
        signer: 'aws-sts',
      }),
      port: 0,
    });
    try {
      const aws = stsRuntime.aws;
      expect(aws).toBeDefined();
      const issuer = aws?.issuer ?? '';
      const { code, lines } = await run(['--issuer', issuer, '--subject', aws?.subject ?? '', '--client-id', CLIENT]);
      const jwks = (await (await fetch(`${issuer}/.well-known/jwks.json`)).json()) as { keys: { kid: string; kty: string }[] };
      const rsa = jwks.keys.find((key) => key.kty === 'RSA');
      const ec = jwks.keys.find((key) => key.kty === 'EC');
      expect(code).toBe(DOCTOR_EXIT.accepted);
      expect(lines).toContain(
        `warning: key ${ec?.kid ?? ''}: has "kty" "EC": Entra verifies RS256 assertions with RSA signing keys only, so it never uses this key (fine next to one it does use)`,
      );
      expect(lines).toContainEqual(
        expect.stringMatching(new RegExp(`^Entra would accept ${issuer}: 1 RS256 signing key: ${rsa?.kid ?? ''} \\(2048 bits\\);`)),
      );
      expect(lines).toContain(`  subject:  ${aws?.subject ?? ''}`);
    } finally {
      await stsRuntime.close();
    }
  });
});

describe('broker-doctor against a broken issuer', () => {
  it('exits 1 with one line per problem and no credential values', async () => {
    broken.discoveryIssuer = `${broken.url}/`;
    broken.jwks = { contentType: 'text/plain' };
    broken.keys = [{ kty: 'RSA', kid: 'x', use: 'sig', n: 'AQAB', e: 'AQAB' }];
    const { code, lines, stdout } = await run(['--issuer', broken.url]);

    expect(code).toBe(DOCTOR_EXIT.problems);
    expect(lines.filter((line) => line.startsWith('problem: '))).toStrictEqual([
      expect.stringMatching(/^problem: discovery: "issuer" is .* they differ by a trailing slash/),
      `problem: jwks: GET ${broken.url}/jwks answered Content-Type "text/plain"; serve it as application/json`,
      'problem: key x: has a 17-bit modulus; use at least 2048 bits',
      `problem: jwks: ${broken.url}/jwks publishes no key Entra can verify an RS256 assertion with`,
    ]);
    expect(lines.at(-1)).toBe(`Entra would not accept ${broken.url}: 4 problems.`);
    expect(stdout).not.toContain('az ad app');
  });

  it('keeps each finding on one line, whatever the issuer answers', async () => {
    broken.discoveryIssuer = 'https://evil.example.com\n\u001b[31mfake ok line';
    broken.jwks = {};
    const { lines } = await run(['--issuer', broken.url]);
    expect(lines.every((line) => /^(problem|warning): |^Entra would /.test(line))).toBe(true);
  });
});

describe('broker-doctor usage', () => {
  it('prints its help and exits 0', async () => {
    expect(await run(['--help'])).toMatchObject({ code: DOCTOR_EXIT.accepted, stdout: DOCTOR_HELP });
  });

  it('exits 2 without --issuer, with an unknown option, or a bad --timeout-ms', async () => {
    expect(await run([])).toMatchObject({ code: DOCTOR_EXIT.usage, stderr: 'broker-doctor: --issuer is required (see --help)\n' });
    expect((await run(['--issuer', 'https://x.example.com', '--verbose'])).code).toBe(DOCTOR_EXIT.usage);
    expect(await run(['--issuer', 'https://x.example.com', '--timeout-ms', '0'])).toMatchObject({
      code: DOCTOR_EXIT.usage,
      stderr: 'broker-doctor: --timeout-ms must be a positive integer, got "0" (see --help)\n',
    });
  });
});
