/**
 * Every DynamoDB action that writes an item, for the Deny statements that keep a table's items (the token cache, the
 * rotation state) to their writers: the single-item, batch and PartiQL forms alike. The transaction and PartiQL APIs
 * have no action of their own: TransactWriteItems is authorized as the PutItem, UpdateItem and DeleteItem it holds
 * (DynamoDB Developer Guide, "Using IAM with DynamoDB transactions"), ExecuteStatement, BatchExecuteStatement and
 * ExecuteTransaction as PartiQLInsert, PartiQLUpdate and PartiQLDelete (Service Authorization Reference, DynamoDB).
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

/**
 * What changes the table itself or who else may write it: its settings and streams, replicas in other Regions or
 * accounts (whose items replicate back into it), the replication service's writes, and its resource policy. Each is an
 * action a table resource policy takes (DynamoDB Developer Guide, "DynamoDB API operations supported by resource-based
 * policies"; the replication actions are those aws-cdk-lib's multi-account replicas put in a table's policy). Adding a
 * replica of this Region's table needs `UpdateTable` on it ("Using IAM with global tables").
 */
export const DYNAMODB_TABLE_CHANGE_ACTIONS = [
  'dynamodb:UpdateTable',
  'dynamodb:AssociateTableReplica',
  'dynamodb:ReplicateSettings',
  'dynamodb:WriteDataForReplication',
  'dynamodb:PutResourcePolicy',
  'dynamodb:DeleteResourcePolicy',
];
