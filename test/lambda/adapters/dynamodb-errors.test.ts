import { describe, expect, it } from 'vitest';
import { dynamoDbFailureReason } from '../../../lambda/adapters/dynamodb-errors';

describe('dynamoDbFailureReason', () => {
  it.each([
    [
      { name: 'ProvisionedThroughputExceededException', message: 'arn:aws:dynamodb:eu-west-1:123456789012:table/x' },
      'ProvisionedThroughputExceededException',
    ],
    [{ name: 'ThrottlingException' }, 'ThrottlingException'],
    [{ name: 'TimeoutError' }, 'timed out'],
    [Object.assign(new Error('connect ETIMEDOUT 10.0.0.1:443'), { code: 'ETIMEDOUT' }), 'timed out'],
    [new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]), 'connection refused'],
    [{ name: 'SomeVendorError', message: 'arn:aws:iam::123456789012:role/secret' }, 'unexpected error'],
    [undefined, 'unexpected error'],
  ])('%o → %s', (error, reason) => {
    expect(dynamoDbFailureReason(error)).toBe(reason);
  });
});
