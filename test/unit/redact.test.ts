import { describe, expect, it } from "vitest";
import { MIN_SECRET_LENGTH, REDACTED, redact, redactText, secretForms } from "../../worker/lib/redact";

describe("redaction", () => {
  it("covers the value, its base64, JSON-escaped and URL-encoded forms and a basic password", () => {
    const forms = secretForms(["ops:s3cr3t-pass", 'tok"en/+']);
    expect(forms).toContain("ops:s3cr3t-pass");
    expect(forms).toContain(btoa("ops:s3cr3t-pass"));
    expect(forms).toContain("s3cr3t-pass");
    expect(forms).toContain('tok\\"en/+');
    expect(forms).toContain("tok%22en%2F%2B");
  });

  it("scrubs secrets from every string and key of an output", () => {
    const forms = secretForms(["demo-token"]);
    const out = redact(
      {
        status: 200,
        headers: { authorization: "Bearer demo-token", "x-demo-token": "1" },
        body: { echoed: ["demo-token", `Basic ${btoa("demo-token")}`], n: 3, ok: true, none: null },
      },
      forms,
    );
    expect(out).toEqual({
      status: 200,
      headers: { authorization: `Bearer ${REDACTED}`, [`x-${REDACTED}`]: "1" },
      body: { echoed: [REDACTED, `Basic ${REDACTED}`], n: 3, ok: true, none: null },
    });
    expect(JSON.stringify(out)).not.toContain("demo-token");
    expect(redactText("no secret here", forms)).toBe("no secret here");
  });

  const SECRET = "Sk_live/Tok+en 42?";
  const hex = (t: string) => [...new TextEncoder().encode(t)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const b64url = (t: string) => btoa(t).replaceAll("+", "-").replaceAll("/", "_");
  /** name, spelling, and how many characters of a surrounding encoding may stay (padding, an encoded user name). */
  const spellings: [string, string, number?][] = [
    ["as written", SECRET],
    ["upper case", SECRET.toUpperCase()],
    ["lower case", SECRET.toLowerCase()],
    ["base64", btoa(SECRET)],
    ["base64 without padding", btoa(SECRET).replace(/=+$/, "")],
    ["base64url", b64url(SECRET)],
    ["base64url without padding", b64url(SECRET).replace(/=+$/, "")],
    ["hex", hex(SECRET)],
    ["HEX", hex(SECRET).toUpperCase()],
    ["encodeURIComponent", encodeURIComponent(SECRET)],
    ["encodeURIComponent, lower-case escapes", encodeURIComponent(SECRET).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())],
    ["form encoding", new URLSearchParams({ q: SECRET }).toString().slice(2)],
    ["JSON-escaped", JSON.stringify(SECRET).slice(1, -1)],
    ["Basic of user:secret", btoa(`user:${SECRET}`), btoa("user:").length],
    ["Basic of a longer user:secret", btoa(`someone@example.com:${SECRET}`), btoa("someone@example.com:").length],
    ["base64url of a 2-byte prefix", b64url(`ab${SECRET}`), 2],
  ];

  it.each(spellings)("scrubs the secret %s inside a longer string", (_, spelled, around = 0) => {
    const forms = secretForms([SECRET]);
    const out = redactText(`echo: <${spelled}> end`, forms);
    expect(out).toMatch(/^echo: <.*\[redacted\].*> end$/);
    expect(out).not.toContain(spelled);
    // what stays is what surrounds the secret, plus the few characters that mix its bits with padding or a prefix
    expect(out.slice("echo: <".length, -"> end".length).replace(REDACTED, "").length).toBeLessThanOrEqual(around + 4);
  });

  it.each(spellings)("scrubs the secret %s in nested objects, keys and log lines", (_, spelled) => {
    const forms = secretForms([SECRET]);
    const out = redact(
      { a: [{ b: { [`k-${spelled}`]: `v ${spelled}` } }], logs: [{ at: "2026-01-01", message: `sent Authorization: Basic ${spelled}` }] },
      forms,
    );
    expect(JSON.stringify(out)).not.toContain(spelled);
    expect(JSON.stringify(out).match(/\[redacted\]/g)).toHaveLength(3);
  });

  it("scrubs the password half of a user:password secret in every encoding, and a whsec_ key without its prefix", () => {
    const forms = secretForms(["erp-user:erp-password", "whsec_aG9vay1zaWduaW5nLXNlY3JldA=="]);
    for (const spelled of ["erp-password", "ERP-PASSWORD", btoa("erp-password"), hex("erp-password"), btoa("other:erp-password"), "aG9vay1zaWduaW5nLXNlY3JldA"]) {
      expect(redactText(`x ${spelled} y`, forms), spelled).not.toContain(spelled);
    }
  });

  it("does not scrub secrets shorter than the minimum, which would match ordinary text", () => {
    expect(MIN_SECRET_LENGTH).toBe(6);
    const forms = secretForms(["", "a", "abc", "pass", "u:pw", "u:abc12"]);
    expect(forms.every((f) => f.length >= MIN_SECRET_LENGTH)).toBe(true);
    expect(redactText("a pass with abc in it: u:pw", forms)).toBe("a pass with abc in it: u:pw");
    expect(redactText("the secret u:abc12 here", forms)).toBe(`the secret ${REDACTED} here`);
    expect(secretForms(["", "abc"])).toEqual([]);
  });

  it("leaves values alone when there are no secrets", () => {
    const v = { a: "demo-token" };
    expect(redact(v, secretForms([]))).toBe(v);
  });
});
