/**
 * How long an Entra access token can live, for the sanity checks on both sides: the token function never serves a
 * cached token claiming more, and the client refuses an answer claiming more.
 */

/**
 * The longest lifetime Entra ID gives an access token: 28 hours. A token lifetime policy caps `AccessTokenLifetime`
 * at 1 day (learn.microsoft.com/entra/identity-platform/configurable-token-lifetimes), and continuous access
 * evaluation lets some resources receive tokens of "up to 28 hours"
 * (learn.microsoft.com/entra/identity-platform/app-resilience-continuous-access-evaluation). The larger of the two,
 * so that no genuine token is refused.
 */
export const ENTRA_MAX_ACCESS_TOKEN_LIFETIME_SECONDS = 28 * 60 * 60;

/**
 * True when a token expiring at `expiresOn` (unix seconds) claims to live longer than Entra ever issues, seen at
 * `nowSeconds`, allowing `skewSeconds` of clock difference between whoever computed `expiresOn` and this clock.
 */
export function outlivesEntraMaximum(expiresOn: number, nowSeconds: number, skewSeconds = 0): boolean {
  return expiresOn - nowSeconds > ENTRA_MAX_ACCESS_TOKEN_LIFETIME_SECONDS + skewSeconds;
}
