import { describe, expect, it } from "vitest";
import {
  BODY_LIMIT_BYTES,
  buildUrl,
  classifyStatus,
  decodeBody,
  hostRefusal,
  isNonPublicHost,
  parseIPv4,
  parseIPv6,
  parseRetryAfter,
  readCapped,
} from "../../worker/lib/net";

const refusal = (url: string, allowed: string[] = []) => hostRefusal(new URL(url), allowed);

describe("buildUrl", () => {
  it("merges query params, the configured value replacing one written in the URL", () => {
    const u = buildUrl("https://erp.example.com/api/items?page=1&keep=yes", { page: 2, active: true, q: "a b&c" });
    expect(u.searchParams.get("page")).toBe("2");
    expect(u.searchParams.get("keep")).toBe("yes");
    expect(u.searchParams.get("active")).toBe("true");
    expect(u.searchParams.get("q")).toBe("a b&c");
    expect(u.pathname).toBe("/api/items");
  });

  it("throws on a string that is not an absolute URL", () => {
    expect(() => buildUrl("/relative/path")).toThrow(TypeError);
    expect(() => buildUrl("not a url")).toThrow(TypeError);
  });
});

describe("host rule", () => {
  it("allows https to public hosts", () => {
    expect(refusal("https://hooks.example.com/x")).toBeUndefined();
    expect(refusal("https://93.184.216.34/x")).toBeUndefined();
    expect(refusal("https://[2606:4700::1111]/x")).toBeUndefined();
  });

  it("refuses plain http to a public host unless it is listed", () => {
    expect(refusal("http://hooks.example.com/x")).toMatch(/plain http.*WEBHOOK_ALLOWED_HOSTS/);
    expect(refusal("http://hooks.example.com/x", ["hooks.example.com"])).toBeUndefined();
  });

  it.each([
    "http://10.0.0.1/",
    "https://10.1.2.3/",
    "https://172.16.0.1/",
    "https://172.31.255.255/",
    "https://192.168.1.1/",
    "https://127.0.0.1/",
    "https://127.9.9.9/",
    "https://169.254.169.254/latest/meta-data",
    "https://0.0.0.0/",
    "https://100.64.0.1/",
    "https://[::1]/",
    "https://[::]/",
    "https://[fc00::1]/",
    "https://[fd12:3456::1]/",
    "https://[fe80::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:10.0.0.1]/",
    "https://[64:ff9b::a00:1]/",
    "https://[2002:c0a8:101::1]/",
    "https://localhost/",
    "http://localhost:1/",
    "https://LOCALHOST./",
    "https://api.localhost/",
    "https://printer.local/",
    "https://metadata.google.internal/",
    "https://intranet/",
    // WHATWG URL normalizes these spellings of 127.0.0.1 before the rule sees them
    "https://0x7f000001/",
    "https://2130706433/",
    "https://127.1/",
  ])("refuses %s when not allowed, explaining the rule", (url) => {
    expect(refusal(url)).toMatch(/WEBHOOK_ALLOWED_HOSTS/);
  });

  it("does not mistake public addresses next to private ranges", () => {
    for (const host of ["172.15.0.1", "172.32.0.1", "192.169.0.1", "11.0.0.1", "169.255.0.1", "100.63.0.1", "100.128.0.1"]) {
      expect(isNonPublicHost(host), host).toBe(false);
    }
    expect(isNonPublicHost("[2001:4860::8888]")).toBe(false);
  });

  it("lets listed hosts through, by name, by IP and with a port", () => {
    expect(refusal("http://127.0.0.1:8787/hook", ["localhost", "127.0.0.1"])).toBeUndefined();
    expect(refusal("http://localhost:1/", ["localhost"])).toBeUndefined();
    expect(refusal("http://[::1]:9000/", ["::1"])).toBeUndefined();
    expect(refusal("http://10.0.0.5:9000/", ["10.0.0.5:9000"])).toBeUndefined();
    expect(refusal("http://10.0.0.5:9001/", ["10.0.0.5:9000"])).toMatch(/private/);
  });

  it("refuses schemes other than http and https, and credentials in the URL", () => {
    expect(refusal("ftp://files.example.com/x")).toMatch(/Only http and https/);
    expect(refusal("https://user:pass@hooks.example.com/x")).toMatch(/auth \(basic\)/);
  });

  it.each([
    ["NAT64", "64:ff9b::808:808"],
    ["NAT64 with a dotted quad", "64:ff9b::127.0.0.1"],
    ["local-use NAT64", "64:ff9b:1::a00:1"],
    ["Teredo", "2001:0:4136:e378:8000:63bf:3fff:fdd2"],
    ["Teredo, compressed", "2001::1"],
    ["benchmarking", "2001:2::1"],
    ["ORCHIDv2", "2001:20::1"],
    ["6to4 of 192.168.1.1", "2002:c0a8:101::1"],
    ["6to4 of 127.0.0.1", "2002:7f00:1::"],
    ["IPv4-mapped of a public address", "::ffff:8.8.8.8"],
    ["IPv4-mapped, uncompressed", "0:0:0:0:0:ffff:7f00:1"],
    ["IPv4-mapped, upper case", "::FFFF:127.0.0.1"],
    ["IPv4-compatible", "::127.0.0.1"],
    ["IPv4-compatible, hex", "::7f00:1"],
    ["IPv4-translated", "::ffff:0:a00:1"],
    ["unique local", "fd00:ec2::254"],
    ["unique local, upper case", "FC00::1"],
    ["link-local with a zone id", "fe80::1%eth0"],
    ["link-local, bracketed with a zone id", "[fe80::1%25eth0]"],
    ["link-local, upper range", "febf::1"],
    ["site-local", "fec0::1"],
    ["multicast", "ff02::1"],
    ["documentation", "2001:db8::1"],
    ["documentation (RFC 9637)", "3fff::1"],
    ["discard", "100::1"],
    ["loopback, uncompressed", "0:0:0:0:0:0:0:1"],
    ["loopback, leading zeros", "0000:0000:0000:0000:0000:0000:0000:0001"],
    ["unspecified", "[::]"],
    ["an IP literal that does not parse", "[1::2::3]"],
  ])("refuses the IPv6 range %s: %s", (_, host) => {
    expect(isNonPublicHost(host)).toBe(true);
  });

  it.each(["2606:4700::1111", "[2001:4860:4860::8888]", "2a00:1450:4001:82b::200e", "2002:808:808::1", "2001:200::1", "2c0f:fb50::1"])(
    "treats global unicast IPv6 as public: %s",
    (host) => {
      expect(isNonPublicHost(host)).toBe(false);
    },
  );

  it.each([
    "https://[64:ff9b::7f00:1]/",
    "https://[64:ff9b::8.8.8.8]/",
    "https://[2001::1]/",
    "https://[::ffff:8.8.8.8]/",
    "https://[::FFFF:127.0.0.1]/",
    "https://[2001:db8::1]/",
    "https://[100::]/",
  ])("refuses the IPv6 URL %s", (url) => {
    expect(refusal(url)).toMatch(/WEBHOOK_ALLOWED_HOSTS/);
  });

  it.each([
    ["decimal", "2130706433"],
    ["hex", "0x7f000001"],
    ["hex parts", "0x7f.1"],
    ["octal", "0177.0.0.1"],
    ["short", "127.1"],
    ["trailing dot", "127.0.0.1."],
    ["octal private", "012.0.0.1"],
    ["hex private", "0xa.0x0.0x0.0x1"],
    ["documentation", "192.0.2.10"],
    ["documentation 2", "198.51.100.7"],
    ["documentation 3", "203.0.113.9"],
    ["a number that is no address", "4294967296"],
    ["a name ending in a number", "example.123"],
  ])("refuses IPv4 spelled %s: %s", (_, host) => {
    expect(isNonPublicHost(host)).toBe(true);
  });

  it.each(["http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/", "http://0x7f000001/", "http://127.0.0.1./", "http://012.1/"])(
    "refuses %s after the URL parser normalized it",
    (url) => {
      expect(refusal(url)).toMatch(/WEBHOOK_ALLOWED_HOSTS/);
    },
  );

  it("reads every IPv4 spelling the URL parser reads, and no other", () => {
    expect(parseIPv4("2130706433")).toEqual([127, 0, 0, 1]);
    expect(parseIPv4("0x7f.1")).toEqual([127, 0, 0, 1]);
    expect(parseIPv4("0177.0.0.1")).toEqual([127, 0, 0, 1]);
    expect(parseIPv4("8.8.8.8")).toEqual([8, 8, 8, 8]);
    expect(parseIPv4("134744072")).toEqual([8, 8, 8, 8]);
    for (const bad of ["1.2.3.4.5", "256.0.0.1", "1.2.3.256", "08.0.0.1", "1.2.3.x", "", "1..2"]) expect(parseIPv4(bad), bad).toBeUndefined();
    expect(isNonPublicHost("134744072")).toBe(false);
  });

  it.each([
    "localhost",
    "LOCALHOST.",
    "api.localhost",
    "localtest.me",
    "app.localtest.me",
    "127.0.0.1.nip.io",
    "app-10-0-0-1.nip.io",
    "7f000001.nip.io",
    "10.0.0.1.sslip.io",
    "192-168-1-1.sslip.io",
    "127.0.0.1.xip.io",
    "10.0.0.1.traefik.me",
    "app.traefik.me",
    "lvh.me",
    "shop.lvh.me",
    "vcap.me",
    "api.vcap.me",
    "LOCALHO.ST",
  ])("refuses the loopback or wildcard-DNS name %s", (host) => {
    expect(isNonPublicHost(host)).toBe(true);
    expect(refusal(`https://${host}/hook`)).toMatch(/WEBHOOK_ALLOWED_HOSTS/);
  });

  it("lets a wildcard-DNS name through when it is listed, and leaves look-alike names alone", () => {
    expect(refusal("https://127.0.0.1.nip.io/hook", ["127.0.0.1.nip.io"])).toBeUndefined();
    expect(refusal("https://app.localtest.me/hook", ["app.localtest.me"])).toBeUndefined();
    for (const host of ["notnip.io", "nip.io.example.com", "mylvh.me", "localtest.me.example.com", "localhost.example.com"]) {
      expect(isNonPublicHost(host), host).toBe(false);
    }
  });

  it("parses IPv6 forms, including an embedded IPv4 tail", () => {
    expect(parseIPv6("[::1]")).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIPv6("::ffff:1.2.3.4")).toEqual([0, 0, 0, 0, 0, 0xffff, 0x102, 0x304]);
    expect(parseIPv6("1:2:3:4:5:6:7:8")).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(parseIPv6("1:2:3")).toBeUndefined();
    expect(parseIPv6("1::2::3")).toBeUndefined();
    expect(parseIPv6("example.com")).toBeUndefined();
  });
});

describe("classifyStatus", () => {
  it("succeeds on the default 2xx range and on listed codes and ranges", () => {
    expect(classifyStatus(200, [[200, 299]])).toBe("success");
    expect(classifyStatus(299, [[200, 299]])).toBe("success");
    expect(classifyStatus(404, [200, [400, 404]])).toBe("success");
    expect(classifyStatus(503, [503])).toBe("success");
  });

  it("retries 408, 429 and 5xx that are not listed", () => {
    for (const s of [408, 429, 500, 502, 503, 504, 599]) expect(classifyStatus(s, [[200, 299]]), String(s)).toBe("retryable");
  });

  it("fails other statuses at once, including unlisted 2xx and redirects", () => {
    for (const s of [400, 401, 403, 404, 409, 422, 301, 302, 204]) expect(classifyStatus(s, [200]), String(s)).toBe("permanent");
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-03-01T12:00:00Z");
  it("reads delay-seconds", () => {
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
  });
  it("reads an HTTP-date relative to now, never negative", () => {
    expect(parseRetryAfter("Sun, 01 Mar 2026 12:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Sun, 01 Mar 2026 11:00:00 GMT", now)).toBe(0);
  });
  it("ignores what it cannot read", () => {
    for (const v of [null, undefined, "", "-1", "1.5", "soon", "12abc", "Xyz, not a date"]) {
      expect(parseRetryAfter(v, now), String(v)).toBeUndefined();
    }
  });
});

function streamOf(...chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const chunk of chunks) c.enqueue(chunk);
      c.close();
    },
  });
}

describe("readCapped and decodeBody", () => {
  it("reads a small body whole", async () => {
    const r = await readCapped(streamOf(new TextEncoder().encode("hello")));
    expect(r.truncated).toBe(false);
    expect(new TextDecoder().decode(r.bytes)).toBe("hello");
  });

  it("stops at the limit and says so", async () => {
    const big = new Uint8Array(BODY_LIMIT_BYTES).fill(97);
    const r = await readCapped(streamOf(big, new Uint8Array(10).fill(98)));
    expect(r.truncated).toBe(true);
    expect(r.bytes.byteLength).toBe(BODY_LIMIT_BYTES);
    expect(r.bytes.every((b) => b === 97)).toBe(true);
  });

  it("is not truncated at exactly the limit", async () => {
    const r = await readCapped(streamOf(new Uint8Array(BODY_LIMIT_BYTES)));
    expect(r.truncated).toBe(false);
  });

  it("gives up when the signal aborts", async () => {
    const stalled = new ReadableStream<Uint8Array>({ start: () => undefined });
    await expect(readCapped(stalled, 1024, AbortSignal.timeout(50))).rejects.toThrow();
  });

  it("parses JSON only when the content type says JSON and the body is complete", () => {
    const bytes = new TextEncoder().encode('{"a":1}');
    expect(decodeBody(bytes, "application/json; charset=utf-8", false)).toEqual({ a: 1 });
    expect(decodeBody(bytes, "application/problem+json", false)).toEqual({ a: 1 });
    expect(decodeBody(bytes, "text/plain", false)).toBe('{"a":1}');
    expect(decodeBody(bytes, "application/json", true)).toBe('{"a":1}');
    expect(decodeBody(new TextEncoder().encode("{oops"), "application/json", false)).toBe("{oops");
  });

  it("drops a multi-byte character cut by the limit instead of garbling it", () => {
    const bytes = new TextEncoder().encode("ab€").subarray(0, 4); // "€" is 3 bytes
    expect(decodeBody(bytes, "text/plain", true)).toBe("ab");
  });
});
