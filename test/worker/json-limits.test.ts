import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { utf8Bytes } from "../../worker/lib/json";
import { restockDefinition } from "../support/definitions";
import { api, json, uid } from "../support/api";

/*
 * Every JSON body but POST /api/events (which reads its raw bytes for the signature) passes one
 * gate: at most 64 levels of nesting, valid JSON, sizes counted in UTF-8 bytes.
 */

const DEEP = "__deep__";
/** `value` serialized with `levels` nested arrays where it holds the string DEEP. */
const nestIn = (value: unknown, levels: number) => JSON.stringify(value).replace(`"${DEEP}"`, "[".repeat(levels) + "]".repeat(levels));

const send = (method: string, path: string, body: string, contentType = "application/json") =>
  api(path, { method, body, headers: { "content-type": contentType } });

let workflowId: string | undefined;
async function workflow(): Promise<string> {
  if (!workflowId) {
    const res = await api("/api/workflows", { method: "POST", json: restockDefinition({ name: uid("limits") }) });
    expect(res.status).toBe(201);
    workflowId = (await json(res)).id as string;
  }
  return workflowId;
}

/** Each route with a JSON body, with a body that nests `levels` arrays inside an otherwise valid request. */
const routes: { name: string; request: (levels: number) => Promise<Response> }[] = [
  { name: "POST /api/workflows (meta)", request: async (n) => send("POST", "/api/workflows", nestIn(restockDefinition({ meta: { x: DEEP } }), n)) },
  { name: "PUT /api/workflows/{id}", request: async (n) => send("PUT", `/api/workflows/${await workflow()}`, nestIn(restockDefinition({ meta: { x: DEEP } }), n)) },
  { name: "POST /api/workflows/validate", request: async (n) => send("POST", "/api/workflows/validate", nestIn(restockDefinition({ meta: { x: DEEP } }), n)) },
  {
    name: "POST /api/workflows/{id}/test",
    request: async (n) => send("POST", `/api/workflows/${await workflow()}/test`, nestIn({ entity_id: "inv_1", data: { id: "inv_1", x: DEEP } }, n)),
  },
  { name: "POST /api/workflows/{id}/status", request: async (n) => send("POST", `/api/workflows/${await workflow()}/status`, nestIn({ status: "draft", x: DEEP }, n)) },
  { name: "PUT /api/entities/{entity} (JSON)", request: async (n) => send("PUT", "/api/entities/brand", nestIn([{ id: uid("b"), name: "B", x: DEEP }], n)) },
];

describe("nesting depth", () => {
  for (const route of routes) {
    for (const levels of [100, 1_000, 10_000, 100_000]) {
      it(`answers 400 for ${levels.toLocaleString("en")} levels on ${route.name}`, async () => {
        const res = await route.request(levels);
        expect(res.status).toBe(400);
        const body = await json(res);
        expect(body.error.code).toBe("bad_request");
        expect(body.error.message).toMatch(/^The JSON nests \d+ levels deep; at most 64 are allowed$/);
      });
    }
  }

  it("names the NDJSON line that nests too deep", async () => {
    for (const levels of [100, 1_000, 10_000, 100_000]) {
      const lines = [JSON.stringify({ id: uid("b"), name: "ok" }), "", nestIn({ id: uid("b"), name: "deep", x: DEEP }, levels)];
      const res = await send("PUT", "/api/entities/brand", lines.join("\n"), "application/x-ndjson");
      expect(res.status).toBe(400);
      const message = `Line 3 nests ${levels + 1} levels deep; at most 64 are allowed`;
      expect((await json(res)).error).toEqual({ code: "bad_request", message, issues: [{ path: "1", message }] });
    }
  });

  it("takes a definition at 64 levels and refuses one at 65", async () => {
    // The definition object and meta are two levels; the arrays inside meta.x make up the rest.
    const at = await send("POST", "/api/workflows", nestIn(restockDefinition({ name: uid("depth"), meta: { x: DEEP } }), 62));
    expect(at.status).toBe(201);
    const over = await send("POST", "/api/workflows", nestIn(restockDefinition({ name: uid("depth"), meta: { x: DEEP } }), 63));
    expect(over.status).toBe(400);
    expect((await json(over)).error.message).toBe("The JSON nests 65 levels deep; at most 64 are allowed");
  });

  it("takes an entity row at 64 levels in NDJSON and stores it", async () => {
    const id = uid("b");
    const res = await send("PUT", "/api/entities/brand", nestIn({ id, name: "deep", x: DEEP }, 63), "application/x-ndjson");
    expect(res.status).toBe(200);
    expect((await json(await api(`/api/entities/brand/${id}`))).name).toBe("deep");
  });
});

describe("bodies that are not JSON", () => {
  for (const [method, path] of [
    ["POST", "/api/workflows"],
    ["POST", "/api/workflows/validate"],
    ["PUT", "/api/entities/brand"],
  ] as const) {
    it(`answers 400 on ${method} ${path} for text that is not JSON`, async () => {
      for (const body of ["{not json", "[1,]", '{"a":1}}', "\u0000", "]]]]"]) {
        const res = await send(method, path, body);
        expect(res.status).toBe(400);
        expect((await json(res)).error).toEqual({ code: "bad_request", message: "The body is not valid JSON" });
      }
    });
  }

  it("answers 400 for a test run and a status change whose body is not JSON", async () => {
    const id = await workflow();
    for (const path of [`/api/workflows/${id}/test`, `/api/workflows/${id}/status`]) {
      const res = await send("POST", path, '{"status":');
      expect(res.status).toBe(400);
      expect((await json(res)).error.message).toBe("The body is not valid JSON");
    }
  });

  it("takes the last of duplicate keys, as JSON.parse does, and stores only that", async () => {
    const name = uid("dup");
    const text = JSON.stringify(restockDefinition({ name: "first" })).replace('"name":"first"', `"name":"first","name":"${name}"`);
    const res = await send("POST", "/api/workflows", text);
    expect(res.status).toBe(201);
    const wf = await json(res);
    expect(wf.name).toBe(name);
    const stored = await env.DB.prepare("SELECT definition FROM workflow_versions WHERE workflow_id = ?").bind(wf.id).first<{ definition: string }>();
    expect(stored!.definition).not.toContain('"first"');
    const id = uid("b");
    const entity = await send("PUT", "/api/entities/brand", `[{"id":"${id}","name":"A","name":"B"}]`);
    expect(entity.status).toBe(200);
    expect((await json(await api(`/api/entities/brand/${id}`))).name).toBe("B");
  });
});

describe("the 256 KiB definition limit counts UTF-8 bytes", () => {
  const LIMIT = 256 * 1024;
  /** A valid definition whose JSON is exactly `bytes` long, mostly `char` (a CJK character or an emoji). */
  function definitionOf(bytes: number, char: string): string {
    const empty = JSON.stringify(restockDefinition({ name: uid("bytes"), meta: { note: "" } }));
    const room = bytes - utf8Bytes(empty);
    const wide = Math.floor(room / utf8Bytes(char));
    const text = empty.replace('"note":""', `"note":"${char.repeat(wide)}${"x".repeat(room - wide * utf8Bytes(char))}"`);
    expect(new TextEncoder().encode(text).byteLength).toBe(bytes);
    return text;
  }

  for (const [what, char] of [
    ["CJK", "倉"],
    ["emoji", "👟"],
  ] as const) {
    it(`takes ${what} text of exactly 256 KiB and refuses one byte more`, async () => {
      const at = await send("POST", "/api/workflows", definitionOf(LIMIT, char));
      expect(at.status).toBe(201);
      expect((await json(at)).definition.meta.note).toContain(char.repeat(100));
      const over = await send("POST", "/api/workflows", definitionOf(LIMIT + 1, char));
      expect(over.status).toBe(413);
      expect((await json(over)).error.code).toBe("payload_too_large");
    });
  }

  it("counts bytes on a body sent without Content-Length, too", async () => {
    const text = definitionOf(LIMIT + 1, "倉");
    expect(text.length).toBeLessThan(LIMIT);
    const stream = new Blob([text]).stream();
    const res = await api("/api/workflows", { method: "POST", body: stream, headers: { "content-type": "application/json" }, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
  });
});
