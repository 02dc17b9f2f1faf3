import { createRoute, z } from "@hono/zod-openapi";
import { Hono } from "hono";
import { RunClicksSchema, TrackedLinkSchema } from "../contract/engagement";
import { engage, linkUrl, recordClick, runClicks } from "../engagement/store";
import { TOKEN_PATTERN } from "../engagement/tokens";
import { logError, log } from "../log";
import type { AppEnv } from "./api";
import { commonErrors, jsonContent, router } from "./api";

/*
 * Tracked links (SPEC §12 `track_links`). `GET /l/{token}` is public (a customer's browser opens
 * it from an email or a notification, with no token of ours) and lives outside /api, so that
 * links stay short and the API's auth never applies. wrangler.toml runs the Worker first for
 * /l/* (else the assets' SPA fallback would answer).
 */
export const linksApp = new Hono<AppEnv>();

const notFound = () =>
  new Response("This link is not known. It may have been mistyped or copied only in part.\n", {
    status: 404,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
  });

/**
 * 302 to the link's URL. A GET counts a click on the link (count, first and last click) and moves
 * the run's trigger subscription from delivered to engaged; a HEAD (link scanners, unfurlers)
 * only redirects. A failed status change does not stop the redirect: the customer still gets
 * where they clicked, and the failure is logged. Answers are plain text, never the API's JSON.
 */
linksApp.get("/:token", async (c) => {
  const token = c.req.param("token");
  if (!TOKEN_PATTERN.test(token)) return notFound();
  const now = new Date();
  if (c.req.method === "HEAD") {
    const url = await linkUrl(c.env.DB, token);
    return url === undefined ? notFound() : redirect(url);
  }
  let link;
  try {
    link = await recordClick(c.env.DB, token, now);
  } catch (err) {
    logError("link_click", err, {});
    return new Response("The link could not be opened just now. Please try again in a moment.\n", { status: 503, headers: { "content-type": "text/plain; charset=utf-8", "retry-after": "5" } });
  }
  if (link === undefined) return notFound();
  try {
    const engaged = await engage(c.env.DB, link, now);
    log("link_click", { run_id: link.run_id, node_id: link.node_id, subscription: engaged });
  } catch (err) {
    logError("link_engage", err, { run_id: link.run_id, node_id: link.node_id });
  }
  return redirect(link.url);
});

// Never cached: every click is counted, and the Referer of the email client is not passed on.
const redirect = (url: string) => new Response(null, { status: 302, headers: { location: url, "cache-control": "no-store", "referrer-policy": "no-referrer" } });

/** `GET /api/runs/{id}/clicks`: mounted beside the runs routes. */
export const runClicksApp = router();

const Clicks = RunClicksSchema.extend({ data: z.array(TrackedLinkSchema.openapi("TrackedLinkClicks")) });

runClicksApp.openapi(
  createRoute({
    method: "get",
    path: "/{id}/clicks",
    operationId: "listRunClicks",
    summary: "The tracked links of a run's steps and their clicks",
    description:
      "A step's output is final once it ran, so clicks, which come later, are kept beside it: one row per link a `track_links` step " +
      "rewrote, with its click count. A run without tracked links (or no such run) has none.",
    request: { params: z.object({ id: z.string().min(1).max(200).openapi({ param: { name: "id", in: "path" } }) }) },
    responses: { 200: jsonContent(Clicks, "The run's tracked links"), ...commonErrors },
  }),
  async (c) => c.json({ data: await runClicks(c.env.DB, c.req.valid("param").id) }, 200),
);
