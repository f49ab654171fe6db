import { describe, expect, it } from 'vitest';
import { MemoryTokenStore } from '../../../lambda/adapters/memory-token-store';
import { InternalError } from '../../../lambda/core/errors';
import { describeTokenStoreContract } from '../../support/token-store-contract';

describeTokenStoreContract('MemoryTokenStore', { makeStore: (clock) => new MemoryTokenStore({ clock }) });

describe('MemoryTokenStore', () => {
  it('hands out copies, so callers cannot change what is stored', async () => {
    const store = new MemoryTokenStore();
    const token = { accessToken: 'at', expiresOn: 2_000_000_000, issuedOn: 1_999_996_400, scope: 's/.default' };
    await store.put('k', token);
    const read = (await store.get('k')) as { accessToken: string };
    read.accessToken = 'changed';
    expect(await store.get('k')).toEqual(token);
  });

  it('refuses a token whose expiry is not a number, like the DynamoDB store', async () => {
    const store = new MemoryTokenStore();
    await expect(store.put('k', { accessToken: 'at', expiresOn: Number.NaN, issuedOn: 0, scope: 's' })).rejects.toBeInstanceOf(
      InternalError,
    );
  });
});
