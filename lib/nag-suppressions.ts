/**
 * cdk-nag's `NagSuppressions`, when the app has cdk-nag. A suppression is metadata on a resource that only cdk-nag's
 * checks read, and those run only in an app that installed cdk-nag: without it there is nothing to suppress. Loading it
 * when present keeps cdk-nag out of the package's dependencies (it is an optional peer dependency), so a consumer app
 * without it synthesizes, and one with it gets every suppression and its reason.
 */
import { createRequire } from 'node:module';
import type * as CdkNagModule from 'cdk-nag';
import type { NagPackSuppression } from 'cdk-nag';
import type { IConstruct } from 'constructs';

type CdkNag = typeof CdkNagModule;

/** cdk-nag as the app resolves it from here, or undefined when the app has none. */
function loadCdkNag(): CdkNag | undefined {
  try {
    return createRequire(import.meta.url)('cdk-nag') as CdkNag;
  } catch (error) {
    // Only its absence is expected; a cdk-nag that is there but fails to load is a real fault.
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && (error as Error).message.includes("'cdk-nag'")) {
      return undefined;
    }
    throw error;
  }
}

const cdkNag = loadCdkNag();

/** The part of cdk-nag's `NagSuppressions` the constructs use; does nothing without cdk-nag. */
export const NagSuppressions = {
  addResourceSuppressions(construct: IConstruct | IConstruct[], suppressions: NagPackSuppression[], applyToChildren?: boolean): void {
    cdkNag?.NagSuppressions.addResourceSuppressions(construct, suppressions, applyToChildren);
  },
};
