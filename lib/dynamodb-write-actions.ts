/**
 * Every DynamoDB action that writes an item, for the Deny statements that keep a table's items (the token cache, the
 * rotation state) to their one writer: the single-item, batch and PartiQL forms alike.
 */
export const DYNAMODB_WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PartiQLInsert',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
];
