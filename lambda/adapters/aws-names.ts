/**
 * Names the infrastructure (lib/) and the adapters must agree on, in a module with no SDK import so the
 * CDK app can use them without loading the clients.
 */

/** The only algorithm the broker signs with (RS256): the KMS signer uses it, the key policy and grant pin it. */
export const KMS_SIGNING_ALGORITHM = 'RSASSA_PKCS1_V1_5_SHA_256';

/** The token table's TTL attribute (unix seconds): written by the store, enabled on the table. */
export const TOKEN_TABLE_TTL_ATTRIBUTE = 'ttl';
