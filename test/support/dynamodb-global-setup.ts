/**
 * Vitest globalSetup: one DynamoDB Local for the whole suite, on a free port, in memory. Tests read its
 * endpoint with `inject('dynamodbEndpoint')` and use their own table names, so files never collide.
 * Tests that stop/restart DynamoDB (fault tests) start their own instance with startDynamoDbLocal.
 */
import type { TestProject } from 'vitest/node';
import { ensureDynamoDbLocal } from '../../local/dynamodb-local/jar';
import { startDynamoDbLocal } from '../../local/dynamodb-local/launcher';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:<port>` of the suite's DynamoDB Local (-sharedDb, in memory). */
    dynamodbEndpoint: string;
  }
}

/** Starts DynamoDB Local and provides its endpoint; the returned teardown stops it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const jarDir = await ensureDynamoDbLocal();
  const ddb = await startDynamoDbLocal({ jarDir });
  project.provide('dynamodbEndpoint', ddb.endpoint);
  return () => ddb.stop();
}
