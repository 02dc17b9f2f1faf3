import { describe, expect, it } from "vitest";
import {
  base64UrlDecode,
  buildPushRequest,
  deriveContentKeys,
  ecdhWith,
  encryptPushMessage,
  HEADER_BYTES,
  importEcdhPrivateKey,
  MAX_PLAINTEXT_BYTES,
  PushSubscriptionSchema,
  pushTopic,
  vapidAuthorization,
  vapidKeysProblem,
} from "../../worker/lib/web-push";
import { b64url, decryptPush, subscriber, unb64url, vapidKeyPair, verifyVapid } from "../support/push";

/*
 * RFC 8291 ("Message Encryption for Web Push"), section 5 and Appendix A, copied from the RFC
 * text: section 5 gives the keys, the auth secret and the encrypted message; Appendix A the same
 * inputs with the salt and the intermediate values. The plaintext is the ASCII string "When I
 * grow up, I want to be a watermelon" (Appendix A: V2hlbiBJIGdyb3cgdXAsIEkgd2FudCB0byBiZSBhIHdhdGVybWVsb24).
 */
const RFC8291 = {
  plaintext: "When I grow up, I want to be a watermelon",
  // Appendix A "Application Server Public Key (as_public)" = section 5 "Sender: public key"
  asPublic: "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8",
  // Appendix A "Application Server Private Key (as_private)" = section 5 "Sender: private key"
  asPrivate: "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw",
  // Appendix A "User Agent Public Key (ua_public)" = section 5 "Receiver: public key"
  uaPublic: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
  // Appendix A "User Agent Private Key (ua_private)" = section 5 "Receiver: private key"
  uaPrivate: "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
  // Appendix A "Salt"
  salt: "DGv6ra1nlYgDCS1FRnbzlw",
  // Appendix A "Authentication Secret (auth_secret)" = section 5 "Authentication Secret"
  authSecret: "BTBZMqHH6r4Tts7J_aSIgg",
  // Appendix A intermediate values
  ecdhSecret: "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs",
  ikm: "S4lYMb_L0FxCeq0WhDx813KgSYqU26kOyzWUdsXYyrg",
  cek: "oIhVW04MRdy2XN9CiKLxTg",
  nonce: "4h_95klXJ5E_qnoN",
  // Appendix A "86-octet header"
  header: "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8",
  // Appendix A "ciphertext" emitted by AES-GCM
  ciphertext: "8pfeW0KbunFT06SuDKoJH9Ql87S1QUrdirN6GcG7sFz1y1sqLgVi1VhjVkHsUoEsbI_0LpXMuGvnzQ",
  // Section 5: the body of the POST to the push service (86 + 41 + 1 + 16 = 144 bytes)
  message:
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml" +
    "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT" +
    "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
};

const enc = new TextEncoder();

async function rfcSender() {
  const publicKey = unb64url(RFC8291.asPublic);
  return { publicKey, privateKey: await importEcdhPrivateKey(publicKey, unb64url(RFC8291.asPrivate)) };
}

describe("RFC 8291 message encryption", () => {
  it("derives the RFC's intermediate values: ECDH secret, IKM, CEK and nonce", async () => {
    const sender = await rfcSender();
    const ua = await crypto.subtle.importKey("raw", unb64url(RFC8291.uaPublic), { name: "ECDH", namedCurve: "P-256" }, false, []);
    const ecdh = new Uint8Array(await crypto.subtle.deriveBits(ecdhWith(ua), sender.privateKey, 256));
    expect(b64url(ecdh)).toBe(RFC8291.ecdhSecret);
    const keys = await deriveContentKeys(ecdh, unb64url(RFC8291.authSecret), unb64url(RFC8291.uaPublic), sender.publicKey, unb64url(RFC8291.salt));
    expect({ ikm: b64url(keys.ikm), cek: b64url(keys.cek), nonce: b64url(keys.nonce) }).toEqual({ ikm: RFC8291.ikm, cek: RFC8291.cek, nonce: RFC8291.nonce });
  });

  it("encrypts the RFC's example to the exact message of section 5, byte for byte", async () => {
    const body = await encryptPushMessage(enc.encode(RFC8291.plaintext), { p256dh: RFC8291.uaPublic, auth: RFC8291.authSecret }, { salt: unb64url(RFC8291.salt), sender: await rfcSender() });
    expect(body.byteLength).toBe(144);
    expect(b64url(body.subarray(0, HEADER_BYTES))).toBe(RFC8291.header);
    expect(b64url(body.subarray(HEADER_BYTES))).toBe(RFC8291.ciphertext);
    expect(b64url(body)).toBe(RFC8291.message);
  });

  it("decrypts the RFC's message with the user agent's private key (the test's decryption is right)", async () => {
    const ua = await subscriber({ publicKey: RFC8291.uaPublic, privateKey: RFC8291.uaPrivate, auth: RFC8291.authSecret });
    const opened = await decryptPush(unb64url(RFC8291.message), ua);
    expect(opened.text).toBe(RFC8291.plaintext);
    expect(opened.recordSize).toBe(4096);
    expect(b64url(opened.senderKey)).toBe(RFC8291.asPublic);
  });

  it("round-trips a fresh message: random salt, ephemeral key, decrypted with the subscription's private key", async () => {
    const ua = await subscriber();
    const text = JSON.stringify({ title: "Zurück auf Lager ✓", body: "您的尺码 42 又有货了 🎉" });
    const first = await encryptPushMessage(enc.encode(text), ua.keys);
    const second = await encryptPushMessage(enc.encode(text), ua.keys);
    const opened = await decryptPush(first, ua);
    expect(opened.text).toBe(text);
    expect(opened.recordSize).toBe(4096);
    expect(first.byteLength).toBe(HEADER_BYTES + enc.encode(text).byteLength + 1 + 16);
    // A new salt and sender key each time: the same text never encrypts the same way.
    expect(b64url(second.subarray(0, 16))).not.toBe(b64url(opened.salt));
    expect(b64url(second.subarray(21, 86))).not.toBe(b64url(opened.senderKey));
    expect((await decryptPush(second, ua)).text).toBe(text);
  });

  it("cannot be read with another subscription's keys", async () => {
    const ua = await subscriber();
    const other = await subscriber();
    const body = await encryptPushMessage(enc.encode("secret"), ua.keys);
    await expect(decryptPush(body, other)).rejects.toThrow();
  });

  it("fits the longest plaintext in the 4096 bytes a push service must accept, and refuses one byte more", async () => {
    const ua = await subscriber();
    const longest = await encryptPushMessage(new Uint8Array(MAX_PLAINTEXT_BYTES).fill(97), ua.keys);
    expect(longest.byteLength).toBe(4096);
    await expect(encryptPushMessage(new Uint8Array(MAX_PLAINTEXT_BYTES + 1), ua.keys)).rejects.toThrow(/at most 3993/);
  });

  it("refuses malformed subscription keys", async () => {
    const ua = await subscriber();
    await expect(encryptPushMessage(enc.encode("x"), { p256dh: ua.keys.p256dh, auth: "AAAA" })).rejects.toThrow(/auth/);
    await expect(encryptPushMessage(enc.encode("x"), { p256dh: b64url(new Uint8Array(65)), auth: ua.keys.auth })).rejects.toThrow(/p256dh/);
    expect(PushSubscriptionSchema.safeParse({ endpoint: "https://push.example.net/x", keys: ua.keys }).success).toBe(true);
    expect(PushSubscriptionSchema.safeParse({ endpoint: "https://push.example.net/x", keys: { ...ua.keys, auth: "short" } }).success).toBe(false);
    expect(PushSubscriptionSchema.safeParse({ endpoint: "ftp://push.example.net/x", keys: ua.keys }).success).toBe(false);
  });
});

describe("RFC 8292 VAPID", () => {
  const now = new Date("2026-03-01T12:00:00.000Z");

  it("signs an ES256 JWT for the push service's origin that verifies with the public key in k=", async () => {
    const pair = await vapidKeyPair();
    const header = await vapidAuthorization(new URL("https://push.example.net:8443/wpush/v2/abc?x=1"), { ...pair, subject: "mailto:team@example.com" }, now);
    const token = await verifyVapid(header);
    expect(token.publicKey).toBe(pair.publicKey);
    expect(token.header).toEqual({ typ: "JWT", alg: "ES256" });
    expect(token.claims).toEqual({ aud: "https://push.example.net:8443", exp: now.getTime() / 1000 + 12 * 3600, sub: "mailto:team@example.com" });
  });

  it("is not verifiable with another key", async () => {
    const pair = await vapidKeyPair();
    const other = await vapidKeyPair();
    const header = await vapidAuthorization(new URL("https://push.example.net/x"), { ...pair, subject: "https://shop.example.com" }, now);
    await expect(verifyVapid(header.replace(`k=${pair.publicKey}`, `k=${other.publicKey}`))).rejects.toThrow(/does not verify/);
  });

  it("names what is wrong with the VAPID settings", async () => {
    const pair = await vapidKeyPair();
    expect(vapidKeysProblem({ ...pair, subject: "mailto:team@example.com" })).toBeUndefined();
    expect(vapidKeysProblem({ subject: "mailto:team@example.com" })).toMatch(/VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY/);
    expect(vapidKeysProblem({ ...pair, publicKey: pair.privateKey, subject: "mailto:a@b.c" })).toMatch(/VAPID_PUBLIC_KEY/);
    expect(vapidKeysProblem({ ...pair, privateKey: pair.publicKey, subject: "mailto:a@b.c" })).toMatch(/VAPID_PRIVATE_KEY/);
    expect(vapidKeysProblem({ ...pair, subject: "team@example.com" })).toMatch(/VAPID_SUBJECT/);
  });
});

describe("the push request", () => {
  it("carries the encrypted body and the RFC 8030 headers: TTL, Urgency, Topic, aes128gcm, vapid", async () => {
    const ua = await subscriber();
    const pair = await vapidKeyPair();
    const topic = await pushTopic("run_1:push");
    const req = await buildPushRequest(
      { endpoint: "https://push.example.net/wpush/abc", keys: ua.keys },
      enc.encode('{"title":"Hi"}'),
      { vapid: { ...pair, subject: "mailto:team@example.com" }, now: new Date(), ttlSeconds: 3600, urgency: "high", topic },
    );
    expect(Object.fromEntries(req.headers)).toMatchObject({
      "content-encoding": "aes128gcm",
      "content-type": "application/octet-stream",
      ttl: "3600",
      urgency: "high",
      topic,
    });
    expect(req.headers.get("authorization")).toMatch(/^vapid t=[\w-]+\.[\w-]+\.[\w-]+, k=[\w-]+$/);
    expect((await verifyVapid(req.headers.get("authorization")!)).claims.aud).toBe("https://push.example.net");
    expect((await decryptPush(req.body, ua)).text).toBe('{"title":"Hi"}');
  });

  it("derives a Topic of 32 base64url characters, the same for the same step", async () => {
    const topic = await pushTopic("run_1:push");
    expect(topic).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await pushTopic("run_1:push")).toBe(topic);
    expect(await pushTopic("run_2:push")).not.toBe(topic);
  });

  it("reads base64url with or without padding and refuses other text", () => {
    expect([...base64UrlDecode("AQI")!]).toEqual([1, 2]);
    expect([...base64UrlDecode("AQI=")!]).toEqual([1, 2]);
    expect(base64UrlDecode("AQ+/")).toBeUndefined();
    expect(base64UrlDecode("A")).toBeUndefined();
  });
});
