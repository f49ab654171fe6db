/**
 * `broker-keys status|rotate [--emergency] --stack <name> [--region <r>]`: shows a deployed broker's signing keys with
 * their states and dates and whether the state item's MAC verifies, and runs a rotation now by invoking the stack's
 * key rotator. Finds the rotation through the
 * stack's outputs (contract/aws-names.ts KEY_ROTATION_OUTPUTS). Run by client/bin/broker-keys.ts; `main` has no side
 * effects on import, so tests call it in-process with their own clients.
 */
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { KMSClient, VerifyMacCommand } from '@aws-sdk/client-kms';
import { GetFunctionConfigurationCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { KEY_ROTATION_ITEM, KEY_ROTATION_OUTPUTS, ROTATION_STATE_MAC_ALGORITHM, TOKEN_TABLE_PARTITION_KEY } from '../../contract/aws-names';
import { BROKER_ENV } from '../../contract/environment';
import type { RotatorEvent } from '../../contract/rotator-event';
import {
  isUsableStateVersion,
  parseRotationState,
  rotationStateMacMessage,
  type KeyStatus,
  type RotationKey,
} from '../../contract/key-rotation-state';
import { awsSetupHint } from './aws-setup-hint';

/** Exit codes, stable for scripts (also in `--help`). */
export const KEYS_EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export const EMERGENCY_COST =
  'Cost of an emergency rotation: the previous keys left the JWKS at once and the new key signs at once. Until Entra ID ' +
  'fetches the JWKS again (its caching is undocumented; assume up to a day), token exchanges may fail with ' +
  'AADSTS7000272 (key not found) and callers get 502 entra_rejected. Callers that retry succeed once Entra has the new key.';

export const KEYS_HELP = `Usage: broker-keys status --stack <name> [--region <r>]
       broker-keys rotate [--emergency] --stack <name> [--region <r>]
       broker-keys migrate --stack <name> [--region <r>]

status              the signing keys of the broker deployed as stack <name>, with their states and dates
rotate              publish a new key now; it starts signing after the publish lead (keyRotation.publishLeadSeconds),
                    so no exchange fails. The previous key stays published retireAfterSeconds after that.
rotate --emergency  after a suspected key compromise: a new key signs at once and every other key leaves the JWKS at
                    once (their deletion is scheduled). ${EMERGENCY_COST}
migrate             once, after upgrading from a version whose rotation state had no MAC: the rotator gives the state
                    its MAC if every key it names is this deployment's key with that public half (it checks each with
                    KMS), and changes nothing otherwise (docs/key-rotation.md, "Upgrading to the authenticated state").

status also checks the state item's MAC, as the broker does before it uses a state: "verified", or "DOES NOT
VERIFY" (the broker refuses the state and uses none of its keys: see docs/key-rotation.md, "A refused rotation
state"), or "not checked" and why (the check reads the key ARN from the rotator's configuration and asks KMS).

Uses the AWS default credential chain and region (AWS_PROFILE, AWS_REGION, ...): status needs
cloudformation:DescribeStacks and dynamodb:GetItem on the table, and for the MAC check lambda:GetFunctionConfiguration
on the rotator and kms:VerifyMac on the rotation state key; rotate needs lambda:InvokeFunction on the rotator.

Exit codes: 0 done, 1 failed or the state's MAC does not verify (the reason on stderr), 2 usage error
`;

export interface KeysIo {
  readonly stdout?: { write(text: string): unknown };
  readonly stderr?: { write(text: string): unknown };
  /** @default - SDK clients for `--region` or the default chain */
  readonly clients?: { cloudFormation: CloudFormationClient; dynamodb: DynamoDBClient; lambda: LambdaClient; kms: KMSClient };
  /** Unix milliseconds. @default Date.now */
  readonly now?: () => number;
}

/** The stack has no key rotation outputs, or the state is unreadable: a message naming what to fix. */
class KeysCliError extends Error {}

/**
 * Runs the CLI with `argv` (without node and script).
 * @returns the exit code (see `KEYS_EXIT`); never throws
 */
export async function main(argv: readonly string[], io: KeysIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const usage = (message: string) => {
    stderr.write(`broker-keys: ${message} (see --help)\n`);
    return KEYS_EXIT.usage;
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: {
        stack: { type: 'string' },
        region: { type: 'string' },
        emergency: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    stdout.write(KEYS_HELP);
    return KEYS_EXIT.ok;
  }
  const [command, ...extra] = positionals;
  if (command !== 'status' && command !== 'rotate' && command !== 'migrate')
    return usage(`expected "status", "rotate" or "migrate", received ${JSON.stringify(command ?? '')}`);
  if (extra.length > 0) return usage(`unexpected ${JSON.stringify(extra.join(' '))}`);
  if (values.stack === undefined || values.stack === '') return usage('--stack is required');
  if (values.emergency && command !== 'rotate') return usage('--emergency goes with rotate');
  const region = values.region;
  const clients = io.clients ?? {
    cloudFormation: new CloudFormationClient(region ? { region } : {}),
    dynamodb: new DynamoDBClient(region ? { region } : {}),
    lambda: new LambdaClient(region ? { region } : {}),
    kms: new KMSClient(region ? { region } : {}),
  };
  const now = io.now ?? Date.now;
  try {
    const outputs = await stackOutputs(clients.cloudFormation, values.stack);
    if (command === 'status') {
      const item = await readItem(clients.dynamodb, outputs.table);
      if (!item) {
        stdout.write(renderKeys(values.stack, [], 0, now()));
        return KEYS_EXIT.ok;
      }
      const mac = await checkMac(item, clients, outputs.rotator);
      const { state, version } = parseItem(item, outputs.table);
      stdout.write(renderKeys(values.stack, state.keys, version, now()));
      stdout.write(`MAC: ${mac.text}\n`);
      if (mac.verdict !== 'refused') return KEYS_EXIT.ok;
      stderr.write(
        'broker-keys: the rotation state item does not verify: the broker refuses it and uses none of its keys. Recover with `broker-keys rotate --emergency` (docs/key-rotation.md, "A refused rotation state").\n',
      );
      return KEYS_EXIT.failed;
    }
    const action = command === 'migrate' ? 'migrate' : values.emergency ? 'emergency' : 'rotate';
    const result = await invokeRotator(clients.lambda, outputs.rotator, { action, requestedAt: Math.floor(now() / 1000) });
    stdout.write(renderKeys(values.stack, result.keys, result.version, now()));
    stdout.write(
      action === 'emergency'
        ? `${EMERGENCY_COST}\n`
        : action === 'migrate'
          ? 'The rotation state carries its MAC: the broker uses it again. Check it with `broker-keys status`.\n'
          : 'Rotation started: the new key is published now and signs once the publish lead has passed; no exchange fails.\n',
    );
    return KEYS_EXIT.ok;
  } catch (error) {
    stderr.write(`broker-keys: ${describeFailure(error)}\n`);
    return KEYS_EXIT.failed;
  } finally {
    if (!io.clients) for (const client of Object.values(clients)) client.destroy();
  }
}

async function stackOutputs(cloudFormation: CloudFormationClient, stackName: string): Promise<{ table: string; rotator: string }> {
  const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs = new Map((Stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]));
  const table = outputs.get(KEY_ROTATION_OUTPUTS.table);
  const rotator = outputs.get(KEY_ROTATION_OUTPUTS.rotator);
  if (!table || !rotator) {
    throw new KeysCliError(
      `stack ${stackName} has no outputs ${KEY_ROTATION_OUTPUTS.table} and ${KEY_ROTATION_OUTPUTS.rotator}: is it a token broker stack deployed with key rotation (this version or later)?`,
    );
  }
  return { table, rotator };
}

async function readItem(dynamodb: DynamoDBClient, tableName: string): Promise<Record<string, AttributeValue> | undefined> {
  const { Item } = await dynamodb.send(
    new GetItemCommand({
      TableName: tableName,
      Key: { [TOKEN_TABLE_PARTITION_KEY]: { S: KEY_ROTATION_ITEM.partitionKey } },
      ConsistentRead: true,
    }),
  );
  return Item;
}

function parseItem(item: Record<string, AttributeValue>, tableName: string) {
  const json = item[KEY_ROTATION_ITEM.stateAttribute]?.S;
  if (json === undefined)
    throw new KeysCliError(`the rotation state item in table ${tableName} has no ${KEY_ROTATION_ITEM.stateAttribute} attribute`);
  return { state: parseRotationState(json), version: Number(item[KEY_ROTATION_ITEM.versionAttribute]?.N ?? 0) };
}

interface MacCheck {
  readonly verdict: 'verified' | 'refused' | 'not-checked';
  readonly text: string;
}

/**
 * Checks the item's MAC as the broker does: KMS VerifyMac with the rotation state key (whose ARN the rotator's
 * configuration holds) over the contract's message. Missing permissions are a reason not to check, not a failure.
 */
async function checkMac(
  item: Record<string, AttributeValue>,
  clients: { lambda: LambdaClient; kms: KMSClient },
  rotator: string,
): Promise<MacCheck> {
  const version = Number(item[KEY_ROTATION_ITEM.versionAttribute]?.N);
  const json = item[KEY_ROTATION_ITEM.stateAttribute]?.S;
  const mac = item[KEY_ROTATION_ITEM.macAttribute]?.B;
  const refused = (why: string): MacCheck => ({ verdict: 'refused', text: `DOES NOT VERIFY (${why}): the broker refuses this state` });
  if (!isUsableStateVersion(version) || json === undefined) return refused('its version or state attribute is unusable');
  if (!mac || mac.length === 0) return refused('it has no MAC');
  let keyArn: string | undefined;
  try {
    const configuration = await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: rotator }));
    keyArn = configuration.Environment?.Variables?.[BROKER_ENV.rotationStateKeyArn];
  } catch (error) {
    return {
      verdict: 'not-checked',
      text: `not checked: cannot read the rotator's configuration (${errorName(error)}; needs lambda:GetFunctionConfiguration)`,
    };
  }
  if (!keyArn)
    return {
      verdict: 'not-checked',
      text: `not checked: the rotator has no ${BROKER_ENV.rotationStateKeyArn} (deployed before the state had a MAC?)`,
    };
  try {
    const output = await clients.kms.send(
      new VerifyMacCommand({
        KeyId: keyArn,
        Message: rotationStateMacMessage(version, json),
        Mac: mac,
        MacAlgorithm: ROTATION_STATE_MAC_ALGORITHM,
      }),
    );
    return output.MacValid === true ? { verdict: 'verified', text: 'verified' } : refused('its MAC does not verify');
  } catch (error) {
    // VerifyMac fails with KMSInvalidMacException for a MAC that does not match (KMS API reference, VerifyMac).
    if (errorName(error) === 'KMSInvalidMacException') return refused('its MAC does not verify');
    return {
      verdict: 'not-checked',
      text: `not checked: KMS VerifyMac failed (${errorName(error)}; needs kms:VerifyMac on the rotation state key)`,
    };
  }
}

const errorName = (error: unknown): string => (error instanceof Error ? error.name : 'UnknownError');

interface RotatorAnswer {
  readonly version: number;
  readonly keys: readonly Omit<RotationKey, 'jwk'>[];
}

async function invokeRotator(lambda: LambdaClient, functionName: string, request: RotatorEvent): Promise<RotatorAnswer> {
  const output = await lambda.send(
    new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify(request)) }),
  );
  const text = Buffer.from(output.Payload ?? new Uint8Array()).toString('utf8');
  if (output.FunctionError !== undefined) {
    let message = text;
    try {
      const body = JSON.parse(text) as { errorType?: string; errorMessage?: string };
      message = `${body.errorType ?? 'Error'}: ${body.errorMessage ?? ''}`;
    } catch {
      // Not JSON: show it as it came.
    }
    throw new KeysCliError(
      `the rotator ${functionName} failed (${message.slice(0, 500)}); nothing was changed that a rerun would not finish`,
    );
  }
  const answer = JSON.parse(text) as Partial<RotatorAnswer>;
  if (!Array.isArray(answer.keys) || typeof answer.version !== 'number')
    throw new KeysCliError(`the rotator ${functionName} answered something unexpected`);
  return answer as RotatorAnswer;
}

const STATUS_TEXT: Record<KeyStatus, string> = {
  published: 'published (next)',
  active: 'active (signs)',
  retired: 'retired (in JWKS)',
  unpublished: 'left the JWKS',
  'deletion-scheduled': 'deletion scheduled',
};

const iso = (seconds: number | undefined) => (seconds === undefined ? '-' : new Date(seconds * 1000).toISOString().replace('.000Z', 'Z'));

/** The keys as a table, newest first, with what happens next. */
export function renderKeys(stackName: string, keys: readonly Omit<RotationKey, 'jwk'>[], version: number, nowMs: number): string {
  if (keys.length === 0) {
    return `Stack ${stackName}: no rotation state yet; the stack's own signing key signs until the rotator's first run (every 15 minutes).\n`;
  }
  const rows = [...keys]
    .reverse()
    .map((key) => [
      STATUS_TEXT[key.status],
      key.keyId.split('/').pop() ?? key.keyId,
      key.reason,
      iso(key.publishedAt),
      key.activatedAt === undefined ? `(${iso(key.activatesAt)})` : iso(key.activatedAt),
      iso(key.retiredAt),
      iso(key.unpublishedAt),
      iso(key.deletionScheduledAt),
    ]);
  const header = ['STATUS', 'KEY', 'REASON', 'PUBLISHED', 'ACTIVE FROM', 'RETIRED', 'LEFT JWKS', 'DELETION SCHEDULED'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `${cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd()}\n`;
  const next = keys.find((key) => key.status === 'published');
  const nowSeconds = Math.floor(nowMs / 1000);
  const upcoming = next
    ? `Next: ${next.keyId.split('/').pop() ?? next.keyId} signs from ${iso(next.activatesAt)} (in ${String(Math.max(0, next.activatesAt - nowSeconds))} s).\n`
    : '';
  return `Stack ${stackName}, rotation state version ${String(version)} (ACTIVE FROM in parentheses: planned):\n${line(header)}${rows.map(line).join('')}${upcoming}`;
}

function describeFailure(error: unknown): string {
  if (error instanceof KeysCliError) return error.message;
  const hint = awsSetupHint(error);
  if (hint !== undefined) return hint;
  if (error instanceof Error && (error as { code?: unknown }).code === 'invalid_rotation_state') return error.message;
  // AWS errors: the name says what (AccessDenied, ValidationError: stack does not exist); SDK messages may hold ARNs,
  // which are the operator's own here, so they are shown.
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
