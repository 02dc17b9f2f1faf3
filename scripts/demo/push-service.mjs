// A local Web Push service for the demo (`npm start` runs it): the demo customers' push
// subscriptions point here (data.mjs), so the back-in-stock workflow's pushes are delivered for
// real instead of failing at a made-up host. It does what a push service does with a message
// (RFC 8030 §5): checks the TTL header and the VAPID Authorization (RFC 8292: an ES256 JWT for
// this origin, not expired, signed by the key in k=) and answers 201 Created with a Location.
// Then it plays the customer's browser: it decrypts the aes128gcm payload (RFC 8291, RFC 8188)
// with the subscription's private key (push-keys.mjs derives it from the endpoint's name) and
// prints the notification. GET / lists the last messages as JSON.
import { createServer } from "node:http";
import { DEMO_PUSH_PORT, decryptPush, demoPushKeys, demoPushOrigin } from "./push-keys.mjs";

const enc = new TextEncoder();
const unb64url = (text) => new Uint8Array(Buffer.from(text, "base64url"));

/** Checks `Authorization: vapid t=<JWT>, k=<key>` for `origin`; the reason it fails, or null. */
async function vapidProblem(authorization, origin) {
  const m = /^vapid t=([\w-]+)\.([\w-]+)\.([\w-]+),\s*k=([\w-]+)$/.exec(authorization ?? "");
  if (!m) return "no VAPID Authorization header";
  const [, header, claims, signature, k] = m;
  const key = await crypto.subtle.importKey("raw", unb64url(k), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]).catch(() => null);
  if (!key) return "k= is not a P-256 public key";
  const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, unb64url(signature), enc.encode(`${header}.${claims}`));
  if (!ok) return "the JWT signature does not verify with k=";
  const c = JSON.parse(Buffer.from(claims, "base64url").toString("utf8"));
  const now = Date.now() / 1000;
  if (c.aud !== origin) return `aud is ${c.aud}, not ${origin}`;
  if (!(c.exp > now && c.exp <= now + 86_400)) return "exp is not within the next 24 hours";
  return null;
}

/**
 * Starts the service on 127.0.0.1:`port`. Resolves to `{origin, received, close}`, or to null when
 * the port is taken (another `npm start` may serve it already; its service accepts these pushes too).
 */
export function startPushService({ port = DEMO_PUSH_PORT, log = console.log } = {}) {
  const origin = demoPushOrigin(port);
  const received = [];
  const server = createServer(async (req, res) => {
    const answer = (status, text = "", headers = {}) => {
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...headers });
      res.end(text);
    };
    try {
      const url = new URL(req.url ?? "/", origin);
      if (req.method === "GET" && url.pathname === "/") {
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(JSON.stringify(received.slice(-100), null, 2));
      }
      const m = /^\/push\/([\w-]+)\/(\d+)$/.exec(url.pathname);
      if (!m) return answer(404, "No such push subscription");
      if (req.method !== "POST") return answer(405, "POST a message", { allow: "POST" });
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const body = new Uint8Array(Buffer.concat(chunks));
      if (!/^\d+$/.test(req.headers.ttl ?? "")) return answer(400, "TTL header missing (RFC 8030 §5.2)");
      const problem = await vapidProblem(req.headers.authorization, origin);
      if (problem) return answer(req.headers.authorization ? 403 : 401, `VAPID: ${problem}`);
      if (req.headers["content-encoding"] !== "aes128gcm") return answer(400, "Content-Encoding must be aes128gcm (RFC 8291)");
      const [customer, browser] = [m[1], Number(m[2])];
      let text;
      try {
        text = await decryptPush(body, demoPushKeys(`${customer}/${browser}`));
      } catch (err) {
        return answer(400, `The browser could not decrypt the message: ${err.message}`);
      }
      let message;
      try {
        message = JSON.parse(text);
      } catch {
        message = { text };
      }
      const id = crypto.randomUUID();
      received.push({ id, at: new Date().toISOString(), customer_id: customer, browser, ttl: Number(req.headers.ttl), urgency: req.headers.urgency ?? null, message });
      if (received.length > 1000) received.splice(0, received.length - 1000);
      log(`push: ${customer} (browser ${browser}) ← ${JSON.stringify(message.title ?? "")} ${message.body ?? text}${message.url ? ` ${message.url}` : ""}`);
      return answer(201, "", { location: `${origin}/message/${id}`, ttl: String(req.headers.ttl) });
    } catch (err) {
      return answer(500, err.message);
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", (err) => (err.code === "EADDRINUSE" ? resolve(null) : reject(err)));
    server.listen(port, "127.0.0.1", () => resolve({ origin, received, close: () => new Promise((r) => server.close(() => r())) }));
  });
}
