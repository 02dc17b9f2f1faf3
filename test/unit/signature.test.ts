import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { verifyStandardWebhook } from "../../worker/lib/signature";

const SECRET = "whsec_" + btoa("unit-test-events-secret-0000000000");
const NOW = Date.UTC(2026, 10, 22, 10, 0, 0);
const encoder = new TextEncoder();

/** HMAC-SHA256 over `id.timestamp.` and the body's bytes, as a sender that signs bytes would. */
async function signBytes(id: string, timestamp: string, body: Uint8Array): Promise<string> {
  const raw = Uint8Array.from(atob(SECRET.slice(6)), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const signed = new Uint8Array([...encoder.encode(`${id}.${timestamp}.`), ...body]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, signed));
  return `v1,${btoa(String.fromCharCode(...mac))}`;
}

function headers(id: string, timestamp: string, signature: string) {
  return new Headers({ "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature });
}

const at = String(NOW / 1000);

describe("verifyStandardWebhook", () => {
  it("verifies what the standardwebhooks package signs, non-ASCII text included", async () => {
    const body = JSON.stringify({ note: "€ 価格 🧦", id: "evt_1" });
    const signature = new Webhook(SECRET).sign("msg_1", new Date(NOW), body);
    expect(await verifyStandardWebhook(SECRET, headers("msg_1", at, signature), encoder.encode(body), NOW)).toEqual({ ok: true, id: "msg_1" });
  });

  it("verifies the exact bytes received: a byte order mark and invalid UTF-8 are signed like any byte", async () => {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode('{"id":"evt_2"}')]);
    const invalid = new Uint8Array([...encoder.encode('{"note":"'), 0xc3, 0x28, 0xff, ...encoder.encode('"}')]);
    for (const body of [bom, invalid]) {
      const signature = await signBytes("msg_2", at, body);
      expect(await verifyStandardWebhook(SECRET, headers("msg_2", at, signature), body, NOW)).toEqual({ ok: true, id: "msg_2" });
    }
  });

  it("refuses a body with one byte changed after signing", async () => {
    const body = encoder.encode('{"id":"evt_3","note":"€"}');
    const signature = await signBytes("msg_3", at, body);
    const tampered = body.slice();
    tampered.set([body[body.length - 3]! ^ 0x01], body.length - 3);
    expect(await verifyStandardWebhook(SECRET, headers("msg_3", at, signature), tampered, NOW)).toEqual({
      ok: false,
      reason: "No webhook-signature matches the body",
    });
  });

  it("accepts any one of several signatures, and skips malformed ones", async () => {
    const body = encoder.encode('{"id":"evt_4"}');
    const good = await signBytes("msg_4", at, body);
    const result = await verifyStandardWebhook(SECRET, headers("msg_4", at, `v1,%%% v2,abc ${good}`), body, NOW);
    expect(result).toEqual({ ok: true, id: "msg_4" });
  });

  it("refuses a timestamp more than 5 minutes away", async () => {
    const body = encoder.encode("{}");
    const old = String(NOW / 1000 - 301);
    const result = await verifyStandardWebhook(SECRET, headers("msg_5", old, await signBytes("msg_5", old, body)), body, NOW);
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining("5 minutes") });
  });
});
