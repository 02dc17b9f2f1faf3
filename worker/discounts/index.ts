import { codeKey } from "./code";
import type { DiscountsPort } from "./port";
import { createCode } from "./store";

/**
 * The discounts port on a D1 database: what create_discount_code gets as `deps.discounts`.
 * `secret` keys the derivation of codes (code.ts); the key is derived once, on first use.
 */
export function discountsPort(d1: D1Database, secret: string): DiscountsPort {
  let key: Promise<CryptoKey> | undefined;
  const keyOnce = () =>
    (key ??= codeKey(secret).catch((err: unknown) => {
      key = undefined; // not kept: the next step tries again
      throw err;
    }));
  return {
    createCode: async (code, owner, now) => createCode(d1, await keyOnce(), code, owner, now),
  };
}
