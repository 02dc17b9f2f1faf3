import { z } from "zod";

/** Web Push: what a storefront needs to subscribe a browser (`applicationServerKey`). */
export const PushPublicKeySchema = z.object({
  /** The VAPID public key: base64url of the raw uncompressed P-256 point (65 bytes). */
  public_key: z.string(),
});
export type PushPublicKey = z.infer<typeof PushPublicKeySchema>;
