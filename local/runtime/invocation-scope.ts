/**
 * Concurrent invocations in one process, each with its own Powertools state, as on Lambda Managed Instances.
 *
 * Powertools keeps an invocation's Lambda context (request id, cold start) in the Lambda runtime's InvokeStore
 * when `AWS_LAMBDA_MAX_CONCURRENCY` is set, and in the logger itself otherwise. A deployed broker function runs one
 * invocation at a time; the local runtime serves many requests at once, so it installs an InvokeStore that keeps
 * one context per request (AsyncLocalStorage), as the runtime does for concurrent invocations. Every line a
 * request causes then carries that request's id, whatever else runs in between.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { InvokeStoreBase } from '@aws/lambda-invoke-store';

type StoreContext = Record<string | symbol, unknown>;

/** The InvokeStore contract on AsyncLocalStorage: one context object per `run`. */
class LocalInvokeStore extends InvokeStoreBase {
  private readonly als = new AsyncLocalStorage<StoreContext>();

  getContext(): StoreContext | undefined {
    return this.als.getStore();
  }

  hasContext(): boolean {
    return this.als.getStore() !== undefined;
  }

  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- InvokeStoreBase's signature
  get<T = unknown>(key: string | symbol): T | undefined {
    return this.als.getStore()?.[key] as T | undefined;
  }

  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- InvokeStoreBase's signature
  set<T = unknown>(key: string | symbol, value: T): void {
    if (this.isProtectedKey(key)) throw new Error(`Cannot modify protected Lambda context field: ${String(key)}`);
    const store = this.als.getStore();
    if (!store) throw new Error('No invocation context: set() outside run()');
    store[key] = value;
  }

  run<T>(context: StoreContext, fn: () => T): T {
    return this.als.run(context, fn);
  }
}

let installed: LocalInvokeStore | undefined;

/**
 * Installs the per-request store for this process (once; later calls reuse it) and returns how to run one
 * request inside its own scope. Whatever store was there (the AWS SDK may have created a single-invocation one)
 * is replaced: outside Lambda nothing else puts a context in it.
 */
export function invocationScope(): <T>(requestId: string, fn: () => T) => T {
  if (!installed) {
    installed = new LocalInvokeStore();
    process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= '64';
  }
  const store = installed;
  // Re-assert it each time a runtime starts: a store created since (by the AWS SDK, say) must not take over.
  globalThis.awslambda.InvokeStore = store;
  return (requestId, fn) => store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: requestId }, fn);
}
