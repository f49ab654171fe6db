/**
 * The Lambda entrypoint of GET /jwks, imported as Lambda imports it (configuration from the environment the stack
 * sets, DynamoDB Local for the table), over a rotation state item someone wrote without the rotator's MAC: the
 * function answers 503 rather than publish its keys, and — the function publishes metrics now — the refusal is counted
 * with the Deployment dimension the alarms read. KMS is never reached: an item without a MAC is refused before any
 * VerifyMac (its endpoint here answers nothing).
 */
import { randomBytes } from 'node:crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { KEY_ROTATION_ITEM } from '../../../contract/aws-names';
import { BROKER_ENV } from '../../../contract/environment';
import type { RotationState } from '../../../contract/key-rotation-state';
import { rsaPublicKeyToJwk } from '../../../lambda/core/jwk';
import { ensureTokenTable } from '../../../local/runtime/ensure-table';
import { localDynamoDbClient, uniqueTableName } from '../../support/dynamodb';
import { httpEvent, jsonBody, lambdaContext } from '../../support/http-events';
import { captureLogsForFile } from '../../support/log-capture';
import { rsaKeyPair } from '../../support/rsa-keys';

const DEPLOYMENT = 'entrypoint-test/Broker';
const dynamodb = localDynamoDbClient(inject('dynamodbEndpoint'));
const logs = captureLogsForFile();
const attackerJwk = await rsaPublicKeyToJwk(rsaKeyPair('attacker').publicKey);

beforeAll(async () => {
  const tableName = uniqueTableName('entrypoint-jwks');
  await ensureTokenTable(dynamodb, tableName);
  const now = Math.floor(Date.now() / 1000);
  const forged: RotationState = {
    keys: [
      {
        keyId: 'attacker-key',
        jwk: attackerJwk,
        status: 'active',
        reason: 'schedule',
        publishedAt: now,
        activatesAt: now,
        activatedAt: now,
      },
    ],
  };
  // What anyone with dynamodb:PutItem on the table can write: any state, any version, no MAC.
  await dynamodb.send(
    new PutItemCommand({
      TableName: tableName,
      Item: {
        pk: { S: KEY_ROTATION_ITEM.partitionKey },
        [KEY_ROTATION_ITEM.versionAttribute]: { N: '7' },
        [KEY_ROTATION_ITEM.stateAttribute]: { S: JSON.stringify(forged) },
      },
    }),
  );
  const env: Record<string, string> = {
    [BROKER_ENV.tableName]: tableName,
    [BROKER_ENV.deployment]: DEPLOYMENT,
    [BROKER_ENV.keyRotation]: JSON.stringify({ intervalSeconds: 86_400, publishLeadSeconds: 3_600, retireAfterSeconds: 3_600 }),
    [BROKER_ENV.publishedKeyArns]: 'arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555',
    [BROKER_ENV.rotationStateKeyArn]: 'arn:aws:kms:eu-west-1:111122223333:key/dddddddd-dddd-4ddd-8ddd-dddddddddddd',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: `AKIAJWKS${randomBytes(6).toString('hex').toUpperCase()}`,
    AWS_SECRET_ACCESS_KEY: randomBytes(30).toString('base64'),
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamodbEndpoint'),
    AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:9',
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
});

afterAll(() => {
  vi.unstubAllEnvs();
  dynamodb.destroy();
});

describe('lambda/entrypoints/jwks.ts', () => {
  it('answers 503 for a state item without the MAC, publishes none of its keys, and counts the refusal', async () => {
    const { handler } = await import('../../../lambda/entrypoints/jwks');
    const response = await handler(httpEvent({ routeKey: 'GET /jwks', caller: null }), lambdaContext());

    expect(response.statusCode).toBe(503);
    expect(jsonBody(response)).toStrictEqual({
      error: 'upstream_unavailable',
      upstream: 'dynamodb',
      message: 'The published keys cannot be read now. Retry later.',
    });
    expect(response.body).not.toContain(attackerJwk.n);
    expect(logs.entries().find((entry) => entry.level === 'WARN')).toMatchObject({
      message: 'refused the key rotation state item: it was not written by the broker, its keys are not used',
      route: 'jwks',
      reason: 'no-mac',
      version: 7,
    });
    expect(logs.metricEntries()).toMatchObject([
      {
        _aws: {
          CloudWatchMetrics: [
            { Namespace: 'AwsAzureTokenBroker', Dimensions: [['Deployment']], Metrics: [{ Name: 'RotationStateRejected' }] },
          ],
        },
        Deployment: DEPLOYMENT,
        RotationStateRejected: 1,
      },
    ]);
    for (const line of logs.lines) expect(line).not.toContain(attackerJwk.n);
  });
});
