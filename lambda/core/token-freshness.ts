/**
 * When a cached token is fresh (served as is), in its refresh window (served while one caller refreshes it) or
 * no longer servable: the margin and the refresh-ahead window, adapted to the token's lifetime.
 *
 * Entra's access tokens live between 10 minutes (the shortest lifetime a tenant's token lifetime policy can set)
 * and a day, and by default a random 60 to 90 minutes
 * (https://learn.microsoft.com/entra/identity-platform/configurable-token-lifetimes). Fixed windows of 300 s each
 * made a 10-minute token never fresh: every request exchanged. The rule: each window is the configured one, but at
 * most a quarter of the token's lifetime, so every token is fresh for at least half its life and one exchange per
 * refresh serves every container. Tokens of an hour or more keep the configured windows (300 s each by default).
 */
import type { CachedToken } from './ports';

/** The largest share of a token's lifetime the margin may take; the refresh-ahead window takes at most as much. */
export const MAX_WINDOW_SHARE_OF_LIFETIME = 0.25;

/** The windows as configured: `refreshMarginSeconds` and `refreshAheadSeconds`. */
export interface ConfiguredWindows {
  readonly marginSeconds: number;
  readonly aheadSeconds: number;
}

/** The windows that apply to one token. */
export interface TokenWindows {
  /** A token with this many seconds left, or fewer, is never served. */
  readonly marginSeconds: number;
  /** The refresh window: this many seconds before the margin, the first caller refreshes while others are served. */
  readonly aheadSeconds: number;
  /** `expiresOn - issuedOn`; undefined when that is not a positive number (the token gets the configured windows). */
  readonly lifetimeSeconds: number | undefined;
  /** True when the configured margin does not fit this lifetime and a smaller one applies. */
  readonly marginReduced: boolean;
}

/**
 * The windows for `token`: the configured ones, each capped at a quarter of the token's lifetime (rounded down to
 * a second). A token whose lifetime is not a positive number (an item that says nonsense) gets the configured
 * windows: the rule never widens a window, only narrows it.
 */
export function tokenWindows(token: Pick<CachedToken, 'expiresOn' | 'issuedOn'>, configured: ConfiguredWindows): TokenWindows {
  const lifetime = token.expiresOn - token.issuedOn;
  if (!(lifetime > 0) || !Number.isFinite(lifetime)) {
    return {
      marginSeconds: configured.marginSeconds,
      aheadSeconds: configured.aheadSeconds,
      lifetimeSeconds: undefined,
      marginReduced: false,
    };
  }
  const cap = Math.floor(lifetime * MAX_WINDOW_SHARE_OF_LIFETIME);
  return {
    marginSeconds: Math.min(configured.marginSeconds, cap),
    aheadSeconds: Math.min(configured.aheadSeconds, cap),
    lifetimeSeconds: lifetime,
    marginReduced: configured.marginSeconds > cap,
  };
}

/**
 * With proactive refresh: the unix second from which the refresher renews `token`. A token is due once it has used
 * half its life, so an Entra outage stays invisible to callers for about half a token's life minus the margin; a short
 * token is due sooner when the margin demands it: at the latest two refresher periods before the margin, so that one
 * late or failed run still leaves the next one time to renew it. A token without a known lifetime is due when a
 * caller would have refreshed it (margin plus refresh window), or two periods before the margin if that is sooner.
 */
export function refreshDueAt(token: Pick<CachedToken, 'expiresOn' | 'issuedOn'>, windows: TokenWindows, periodSeconds: number): number {
  const beforeMargin = windows.marginSeconds + 2 * periodSeconds;
  const halfLife =
    windows.lifetimeSeconds === undefined ? windows.marginSeconds + windows.aheadSeconds : Math.ceil(windows.lifetimeSeconds / 2);
  return token.expiresOn - Math.max(halfLife, beforeMargin);
}
