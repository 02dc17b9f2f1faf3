import type { RetryPolicy } from "../definition/common";
import { RETRY_DEFAULTS } from "../definition/common";

export const DEFAULT_RETRY: RetryPolicy = { ...RETRY_DEFAULTS };

/** Longest a server's Retry-After may push a retry out: one day. */
export const RETRY_AFTER_CAP_MS = 86_400_000;

/**
 * Delay before attempt `attempt + 1` after attempt `attempt` failed (attempt is 1-based).
 * Exponential doubles from initial_delay_ms, capped at max_delay_ms; with jitter the delay is
 * drawn uniformly from [0, cap] ("full jitter") so retries of many runs do not arrive together.
 * A server's Retry-After is a floor: we never call back sooner than it asked.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number, retryAfterMs?: number): number {
  const exponent = policy.backoff === "exponential" ? Math.min(attempt - 1, 40) : 0;
  const ceiling = Math.min(policy.max_delay_ms, policy.initial_delay_ms * 2 ** exponent);
  const delay = policy.jitter ? Math.floor(random() * (ceiling + 1)) : ceiling;
  return retryAfterMs === undefined ? delay : Math.max(delay, Math.min(retryAfterMs, RETRY_AFTER_CAP_MS));
}
