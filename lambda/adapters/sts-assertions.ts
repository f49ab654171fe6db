import { GetWebIdentityTokenCommand, type STSClient } from '@aws-sdk/client-sts';
import { STS_SIGNING_ALGORITHM } from '../../contract/aws-names';
import { InternalError } from '../core/errors';
import type { ClientAssertionSource } from '../core/ports';
import { stsError } from './sts-errors';

export interface StsAssertionsOptions {
  /** The account's outbound identity federation issuer, as Entra's credential names it (for refusal hints). */
  readonly issuer: string;
  /** The token function's role ARN: the `sub` STS writes (for refusal hints). */
  readonly subject: string;
  /** `Audience`: the configuration's audience, the only one the role's grant allows. */
  readonly audience: string;
  /** `DurationSeconds`: the configuration's `assertionLifetimeSeconds`, at most the grant's ceiling. */
  readonly lifetimeSeconds: number;
}

/**
 * Client assertions from AWS STS outbound identity federation (the `aws-sts` signer): each `create()` is one
 * `GetWebIdentityToken` call for the configured audience, RS256 and lifetime, on the client's (regional) endpoint.
 * STS signs; the assertion is returned as STS issued it. No tags are sent, so the role needs no
 * `sts:TagGetWebIdentityToken`.
 */
export class StsAssertions implements ClientAssertionSource {
  readonly issuer: string;
  readonly subject: string;

  constructor(
    private readonly sts: STSClient,
    private readonly options: StsAssertionsOptions,
  ) {
    this.issuer = options.issuer;
    this.subject = options.subject;
  }

  /**
   * A fresh assertion from STS.
   * @throws UpstreamUnavailableError (STS throttling, 5xx or unreachable after the client's retries)
   * @throws InternalError (STS refused: federation disabled, access denied, duration past the session; or no token)
   */
  async create(): Promise<string> {
    let token: string | undefined;
    try {
      const output = await this.sts.send(
        new GetWebIdentityTokenCommand({
          Audience: [this.options.audience],
          SigningAlgorithm: STS_SIGNING_ALGORITHM,
          DurationSeconds: this.options.lifetimeSeconds,
        }),
      );
      token = output.WebIdentityToken;
    } catch (error) {
      throw stsError(error);
    }
    if (!token) throw new InternalError('AWS STS GetWebIdentityToken returned no token.');
    return token;
  }
}
