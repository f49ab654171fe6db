/** A `broker` context value with one mistake per field, and the messages that must name each. */
export const BAD_CONFIG = {
  tenantId: 'common',
  clientId: 'not-a-guid',
  scopes: { Graph: 'https://graph.microsoft.com/.default', storage: 'https://storage.azure.com' },
  assertionLifetimeSeconds: 3600,
  colour: 'blue',
};
export const EVERY_BAD_FIELD = [
  /colour: unknown field/,
  /tenantId: "common" is not a tenant/,
  /clientId: expected a GUID.*received "not-a-guid"/,
  /assertionLifetimeSeconds: expected an integer from 60 to 600, received 3600/,
  /scopes: alias "Graph" must match/,
  /scopes\.storage: expected one "<resource>\/\.default" scope.*received "https:\/\/storage\.azure\.com"/,
];
