/**
 * The baseline section 1 compares against: a plain read-through cache on the same DynamoDB table, with no memory tier,
 * no single flight and no lease, so every miss exchanges. Built here from the broker's core parts (the same assertion,
 * Entra client and sealed items), not by the broker: nothing in lambda/ exists for it.
 */
import { createServer } from 'node:http';
import { basename } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createDynamoDbClient } from '../../lambda/adapters/aws-clients';
import { DynamoDbTokenStore } from '../../lambda/adapters/dynamodb-token-store';
import { LocalDataKeys } from '../../lambda/adapters/local-data-keys';
import { fixedSigningKey } from '../../lambda/adapters/local-key-signer';
import { sealBindings } from '../../lambda/composition/token-function';
import { requestEntraToken } from '../../lambda/core/entra-client';
import { sleep } from '../../lambda/core/retry';
import { discoveryDocument, jwksDocument } from '../../lambda/core/discovery';
import { rotatingAssertions, rotationPublicKeys } from '../../lambda/core/rotating-assertions';
import { SealingTokenStore } from '../../lambda/core/sealing-token-store';
import { tokenCacheKey } from '../../lambda/core/token-cache';
import { TokenSealer } from '../../lambda/core/token-sealing';
import type { LocalConfig } from '../runtime/local-config';
import { loadOrCreateSealingKey } from '../runtime/secret-key-file';
import { loadOrCreateSigningKey } from '../runtime/signing-key-file';
import { DISCOVERY_PATH, JWKS_PATH } from '../../contract/http-api';

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Serves `GET /token/{alias}` on 127.0.0.1:`port` the naive way: read the table, exchange on a miss, write back; and
 * the issuer's discovery document and JWKS.
 * The table must exist (the coordinated run's workers create theirs the same way: `ensureTokenTable`).
 */
export async function startUncoordinatedBroker(config: LocalConfig, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const { runtime } = config.broker;
  const clock = Date.now;
  const client = createDynamoDbClient({
    endpoint: config.dynamodbEndpoint,
    region: config.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const sealing = await loadOrCreateSealingKey(config.sealingKeyFile);
  const bindings = sealBindings(runtime);
  const store = new SealingTokenStore({
    store: new DynamoDbTokenStore(client, config.tableName),
    sealer: new TokenSealer({ keys: new LocalDataKeys(sealing.key, `local/${config.tableName}`), clock }),
    bindingOf: (key) => bindings.get(key),
    clock,
    logger: silent,
    metrics: { count: () => undefined },
  });
  const key = await loadOrCreateSigningKey(config.signingKeyFile);
  const issuer = config.issuer ?? `http://127.0.0.1:${String(port)}`;
  const signing = await fixedSigningKey(key.pem, basename(key.path), Math.floor(clock() / 1000));
  const assertions = rotatingAssertions(
    { issuer, subject: runtime.subject, audience: runtime.audience, lifetimeSeconds: runtime.assertionLifetimeSeconds },
    { ...signing, clock },
  );
  // Entra reads the issuer's discovery document and JWKS from the first worker, as from the broker.
  const documents: Record<string, string> = {
    [DISCOVERY_PATH]: JSON.stringify(discoveryDocument(issuer)),
    [JWKS_PATH]: JSON.stringify(jwksDocument(await rotationPublicKeys(signing.state).publicKeys())),
  };

  const server = createServer((request, response) => {
    const document = documents[request.url ?? ''];
    if (document !== undefined) return void response.writeHead(200, { 'content-type': 'application/json' }).end(document);
    const alias = /^\/token\/([^/]+)$/.exec(request.url ?? '')?.[1] ?? '';
    const scope = Object.hasOwn(runtime.scopes, alias) ? runtime.scopes[alias] : undefined;
    if (!scope) return void response.writeHead(404).end();
    const cacheKey = tokenCacheKey({ authorityHost: runtime.authorityHost, ...scope });
    void (async () => {
      let token = await store.get(cacheKey);
      if (!token || token.expiresOn - clock() / 1000 <= runtime.refreshMarginSeconds) {
        const presented = { ...scope, issuer, subject: runtime.subject, audience: runtime.audience, signer: runtime.signer };
        token = await requestEntraToken(
          { authorityHost: runtime.authorityHost, presented, clientAssertion: await assertions.create() },
          { fetch: (input, init) => fetch(input, init), clock, sleep },
        );
        await store.put(cacheKey, token);
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token.accessToken }));
    })().catch((error: unknown) => {
      process.stderr.write(`uncoordinated broker: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
      response.writeHead(503).end();
    });
  });
  await new Promise<void>((ready) => server.listen(port, '127.0.0.1', ready));
  return {
    url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      client.destroy();
    },
  };
}
