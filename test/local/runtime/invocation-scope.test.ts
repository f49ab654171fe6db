/** Each request the local runtime serves has its own invocation state, as the Lambda runtime gives concurrent invocations. */
import { InvokeStoreBase } from '@aws/lambda-invoke-store';
import { describe, expect, it } from 'vitest';
import { invocationScope } from '../../../local/runtime/invocation-scope';

describe('invocationScope', () => {
  it('keeps what each of two interleaved requests sets apart, and its request id readable', async () => {
    const inScope = invocationScope();
    const store = globalThis.awslambda.InvokeStore as InvokeStoreBase;
    const request = (id: string) =>
      inScope(id, async () => {
        store.set('route', `route-of-${id}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        return { requestId: store.getRequestId(), route: store.get('route') };
      });
    const results = await Promise.all([request('first'), request('second')]);
    expect(results).toEqual([
      { requestId: 'first', route: 'route-of-first' },
      { requestId: 'second', route: 'route-of-second' },
    ]);
  });

  it('refuses to let a handler overwrite a field only the runtime sets (the request id, the trace)', () => {
    const inScope = invocationScope();
    const store = globalThis.awslambda.InvokeStore as InvokeStoreBase;
    inScope('mine', () => {
      for (const key of Object.values(InvokeStoreBase.PROTECTED_KEYS)) {
        expect(() => store.set(key, 'forged')).toThrow(`Cannot modify protected Lambda context field: ${String(key)}`);
      }
      expect(store.getRequestId()).toBe('mine');
    });
  });
});
