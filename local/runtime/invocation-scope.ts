/**
 * Concurrent invocations in one process, each with its own Powertools state, as the Lambda runtime provides them on
 * Lambda Managed Instances.
 *
 * Powertools keeps what belongs to one invocation — the logger's Lambda context (request id, cold start), the metrics
 * counted — in the Lambda runtime's InvokeStore when `AWS_LAMBDA_MAX_CONCURRENCY` is set, and on the instance
 * otherwise. A deployed broker function runs one invocation at a time; the local runtime serves many requests at once
 * from one logger and one metrics object per route, so it does what the Lambda runtime does for concurrent
 * invocations, and nothing per request lives in a shared object:
 * - it sets `AWS_LAMBDA_MAX_CONCURRENCY`, the runtime's documented signal that invocations run concurrently, which
 *   Powertools reads on every access (`shouldUseInvokeStore`);
 * - it puts an InvokeStore backed by AsyncLocalStorage at `globalThis.awslambda.InvokeStore`, where the runtime
 *   publishes it and where Powertools and the AWS SDK look for it;
 * - it runs each request inside `run`, so every line and count of a request belongs to that request.
 * Only the local runtime's process does this; a deployed function never runs this module.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { InvokeStoreBase } from '@aws/lambda-invoke-store';

type StoreContext = Record<string | symbol, unknown>;

/** Runs `fn` as the invocation `requestId`. */
export type InvocationScope = <T>(requestId: string, fn: () => T) => T;

/** The fields only the runtime sets (the request id, the trace): looked up once, not per `set`. */
const PROTECTED_KEYS: ReadonlySet<string | symbol> = new Set(Object.values(InvokeStoreBase.PROTECTED_KEYS));

/** The InvokeStore contract on AsyncLocalStorage: one context object per `run`. */
class LocalInvokeStore extends InvokeStoreBase {
  private readonly als = new AsyncLocalStorage<StoreContext>();

  // Powertools sets invocation state several times per request; the base class lists the protected keys each time.
  override isProtectedKey(key: string | symbol): boolean {
    return PROTECTED_KEYS.has(key);
  }

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
export function invocationScope(): InvocationScope {
  if (!installed) {
    installed = new LocalInvokeStore();
    process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= '64';
  }
  const store = installed;
  // Re-asserted each time a runtime starts: a store created since (by the AWS SDK, say) must not take over.
  globalThis.awslambda.InvokeStore = store;
  return (requestId, fn) => store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: requestId }, fn);
}
