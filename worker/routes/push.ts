import { createRoute } from "@hono/zod-openapi";
import { config } from "../config";
import { PushPublicKeySchema } from "../contract/push";
import { AppError } from "../errors";
import { errorResponse, jsonContent, router } from "./api";

export const pushApp = router();

/**
 * Public, like the key itself: a storefront's page hands it to `pushManager.subscribe` in the
 * customer's browser, which has no API token. It reveals nothing a subscribed browser does not
 * already hold.
 */
pushApp.openapi(
  createRoute({
    method: "get",
    path: "/public-key",
    operationId: "getPushPublicKey",
    summary: "The VAPID public key; needs no token",
    description: "The key browsers subscribe with (applicationServerKey).",
    security: [],
    responses: {
      200: jsonContent(PushPublicKeySchema, "The key, base64url of the raw P-256 point"),
      503: errorResponse("VAPID keys are not set, or malformed: the message says which"),
    },
  }),
  (c) => {
    const vapid = config(c.env).VAPID;
    if (!vapid.ok) throw new AppError("unavailable", vapid.reason);
    // Cached briefly: the key changes only when the secrets do (and then every subscription must be renewed).
    c.header("cache-control", "public, max-age=300");
    return c.json({ public_key: vapid.keys.publicKey }, 200);
  },
);
