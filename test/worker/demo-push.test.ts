import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
// @ts-expect-error -- plain ES modules without type declarations (scripts run under Node)
import { demoConversions, demoData } from "../../scripts/demo/data.mjs";
// @ts-expect-error -- as above
import { decryptPush, demoPushKeys, demoPushOrigin, unbase64url } from "../../scripts/demo/push-keys.mjs";
// @ts-expect-error -- as above
import { seedIfEmpty } from "../../scripts/demo/seed.mjs";
import { api, json, TOKEN, uid } from "../support/api";
import { settled } from "../support/runs";

/*
 * The demo's back-in-stock side, for real: each demo browser has a P-256 key pair of its own, so
 * the worker's send_push encrypts to it and the demo's push service (scripts/demo/push-service.mjs,
 * which decrypts with push-keys.mjs) reads it; and the seed sends the purchases that converted
 * subscriptions through the consumer, so that they are converted with their revenue attributed.
 * The seed loads into this file's own (empty) database at a twentieth of the data set's size.
 */

type Row = Record<string, any>;
type Keys = { p256dh: string; auth: string; d: string };
const SCALE = 0.05;
const workerFetch = (url: string, init?: RequestInit) => exports.default.fetch(new Request(url, init));
const b64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** ECDH with the browser's private key equals ECDH with its public key: the pair is one key, on the curve. */
async function holdsTogether(keys: Keys): Promise<boolean> {
  const point = unbase64url(keys.p256dh) as Uint8Array<ArrayBuffer>;
  const ecdh = { name: "ECDH", namedCurve: "P-256" };
  const pub = await crypto.subtle.importKey("raw", point, ecdh, false, []);
  const priv = await crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: b64url(point.slice(1, 33)), y: b64url(point.slice(33)), d: keys.d }, ecdh, false, ["deriveBits"]);
  const other = (await crypto.subtle.generateKey(ecdh, false, ["deriveBits"])) as CryptoKeyPair;
  // The runtime reads `public`; the Workers types spell it `$public`.
  const derive = (key: CryptoKey, peer: CryptoKey) => crypto.subtle.deriveBits({ name: "ECDH", public: peer } as Parameters<SubtleCrypto["deriveBits"]>[0], key, 256);
  const [a, b] = await Promise.all([derive(priv, other.publicKey), derive(other.privateKey, pub)]);
  return b64url(new Uint8Array(a)) === b64url(new Uint8Array(b));
}

// First: the seed loads only into an empty database (no workflow yet).
describe("the demo's purchases", () => {
  it("convert their subscriptions through the consumer, with conversion rows that match the orders", async () => {
    const logs: string[] = [];
    const seeded = await seedIfEmpty("http://localhost", TOKEN, { fetch: workerFetch, scale: SCALE, log: (m: string) => logs.push(m), eventsSecret: env.EVENTS_SECRET });
    const data = demoData({ scale: SCALE });
    const conversions: { subscription: Row; order: Row }[] = demoConversions(data);
    expect(conversions.length).toBeGreaterThan(0);
    expect(seeded).toMatchObject({ loaded: true, conversions: conversions.length, counts: { order: data.orders.length, subscription: data.subscriptions.length } });
    expect(logs[0]).toContain(`(${conversions.length} of them converted a back-in-stock subscription)`);

    // One conversion row per purchase, with the order's revenue, written by the consumer.
    const rows = await env.DB.prepare("SELECT order_id, subscription_id, customer_id, variant_id, revenue FROM conversions ORDER BY order_id").all();
    expect(rows.results).toEqual(
      conversions.map(({ subscription: s, order: o }) => ({ order_id: o.id, subscription_id: s.id, customer_id: s.customer_id, variant_id: s.variant_id, revenue: o.total })),
    );
    // Each subscription ends as the data set says: converted, or completed later.
    for (const { subscription: s, order: o } of conversions) {
      expect((await json(await api(`/api/entities/subscription/${s.id}`))).status, s.id).toBe(s.status);
      expect(await json(await api(`/api/entities/order/${o.id}`))).toMatchObject({ id: o.id, total: o.total });
    }
    // The summary attributes their revenue.
    const summary = await json(await api("/api/back-in-stock/summary?from=2026-01-01&to=2027-12-31"));
    const revenue = Math.round(conversions.reduce((n, c) => n + c.order.total, 0) * 100) / 100;
    expect(summary.totals).toMatchObject({ converted: conversions.length, attributed_revenue: revenue });
    expect(revenue).toBeGreaterThan(0);
  }, 120_000);
});

describe("the demo customers' browsers", () => {
  it("each have a P-256 key pair and auth secret of their own, at the local push service", async () => {
    const data = demoData({ scale: SCALE });
    const browsers = data.customers.flatMap((c: Row) => c.push_subscriptions.map((s: Row, k: number) => ({ customer: c.id, k: k + 1, ...s })));
    expect(browsers.length).toBeGreaterThan(3);
    expect(new Set(browsers.map((b: Row) => b.endpoint)).size).toBe(browsers.length);
    expect(new Set(browsers.map((b: Row) => b.keys.p256dh)).size).toBe(browsers.length);
    for (const b of browsers) {
      expect(b.endpoint).toBe(`${demoPushOrigin()}/push/${b.customer}/${b.k}`);
      const keys: Keys = demoPushKeys(`${b.customer}/${b.k}`);
      expect(b.keys).toEqual({ p256dh: keys.p256dh, auth: keys.auth });
      expect(unbase64url(keys.auth)).toHaveLength(16);
      expect(await holdsTogether(keys), b.endpoint).toBe(true);
    }
    // Elsewhere, the push service is where the start script says.
    expect(demoData({ scale: SCALE, pushOrigin: "http://127.0.0.1:9999" }).customers.find((c: Row) => c.push_subscriptions.length > 0).push_subscriptions[0].endpoint).toMatch(/^http:\/\/127\.0\.0\.1:9999\/push\//);
  });

  it("read RFC 8291's example message as its browser does", async () => {
    const message =
      "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml" +
      "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT" +
      "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";
    const keys = { p256dh: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4", auth: "BTBZMqHH6r4Tts7J_aSIgg", d: "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94" };
    expect(await decryptPush(unbase64url(message), keys)).toBe("When I grow up, I want to be a watermelon");
  });

  it("read what send_push sends a demo customer", async () => {
    const bucket = uid("demo_push");
    const customer = uid("cust");
    const keys: Keys = demoPushKeys(`${customer}/1`);
    await api("/api/entities/customer", { method: "PUT", json: [{ id: customer, email: `${customer}@example.com`, push_subscriptions: [{ endpoint: `${env.SINK_ORIGIN}/${bucket}/push/${customer}/1`, keys: { p256dh: keys.p256dh, auth: keys.auth } }] }] });
    const wf = await json(
      await api("/api/workflows", {
        method: "POST",
        json: { name: uid("push"), trigger: { entity: "customer" }, start: "push", nodes: [{ id: "push", type: "send_push", config: { title: "Trail Runner is back", body: "Size 43 is back in stock", url: "https://shop.example.com/p/1" } }] },
      }),
    );
    const res = await api(`/api/workflows/${wf.id}/test`, { method: "POST", json: { entity_id: customer } });
    expect(res.status).toBe(202);
    const run = await settled((await json(res)).id);
    expect(run.steps[0]).toMatchObject({ status: "succeeded", output: { sent: 1, removed: 0, failed: 0 } });
    const [req] = (await (await fetch(`${env.SINK_ORIGIN}/_sink/${bucket}/requests`)).json()) as { body_base64: string }[];
    const body = Uint8Array.from(atob(req!.body_base64), (c) => c.charCodeAt(0));
    expect(JSON.parse(await decryptPush(body, keys))).toEqual({ title: "Trail Runner is back", body: "Size 43 is back in stock", url: "https://shop.example.com/p/1" });
  });
});
