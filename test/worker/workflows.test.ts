import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { restockDefinition } from "../support/definitions";
import { api, json, uid } from "../support/api";

async function create(overrides: Record<string, unknown> = {}) {
  const res = await api("/api/workflows", { method: "POST", json: restockDefinition({ name: uid("wf"), ...overrides }) });
  expect(res.status).toBe(201);
  return json(res);
}

async function setStatus(id: string, status: string) {
  return api(`/api/workflows/${id}/status`, { method: "POST", json: { status } });
}

describe("authentication", () => {
  it("refuses /api without a token, with a JSON error", async () => {
    const res = await api("/api/workflows", { token: null });
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({ error: { code: "unauthorized", message: "Send Authorization: Bearer <token>" } });
  });

  it("refuses an unknown token", async () => {
    const res = await api("/api/workflows", { token: "nope" });
    expect(res.status).toBe(401);
    expect((await json(res)).error.code).toBe("unauthorized");
  });

  it("accepts every token of API_TOKENS", async () => {
    expect((await api("/api/workflows", { token: "second-token" })).status).toBe(200);
  });

  it("leaves health, the OpenAPI document and the docs page open", async () => {
    expect((await api("/api/health", { token: null })).status).toBe(200);
    expect((await api("/api/openapi.json", { token: null })).status).toBe(200);
    expect((await api("/api/docs", { token: null })).status).toBe(200);
  });
});

describe("create, read, list", () => {
  it("creates a draft at version 1 with defaults applied", async () => {
    const wf = await create();
    expect(wf).toMatchObject({ status: "draft", version: 1, trigger_entity: "inventory_item" });
    expect(wf.id).toMatch(/^wf_[0-9a-z]{26}$/);
    expect(wf.definition.nodes[2].config.method).toBe("POST");
    const again = await json(await api(`/api/workflows/${wf.id}`));
    // Creating also answers the warnings about the definition (SPEC §11); reading does not.
    const { warnings, ...saved } = wf;
    expect(warnings).toEqual([]);
    expect(again).toEqual(saved);
  });

  it("answers 404 for an unknown workflow", async () => {
    const res = await api("/api/workflows/wf_nope");
    expect(res.status).toBe(404);
    expect((await json(res)).error.code).toBe("not_found");
  });

  it("refuses an invalid definition with every issue and saves nothing", async () => {
    const name = uid("bad");
    const def = restockDefinition({ name, start: "missing" });
    (def.nodes[2]!.config as { url: string }).url = "nope";
    const res = await api("/api/workflows", { method: "POST", json: def });
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.error.code).toBe("validation_failed");
    expect(body.error.issues).toEqual([{ path: "nodes.2.config.url", message: "Not a URL: use https://host/path" }]);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM workflows WHERE name = ?").bind(name).first<{ n: number }>();
    expect(count?.n).toBe(0);
  });

  it("reports graph issues after the schema passes", async () => {
    const res = await api("/api/workflows", { method: "POST", json: restockDefinition({ start: "missing" }) });
    expect(res.status).toBe(400);
    expect((await json(res)).error.issues).toEqual([{ path: "start", message: 'No node has the id "missing"' }]);
  });

  it("answers 400 for malformed JSON", async () => {
    const res = await api("/api/workflows", { method: "POST", body: "{not json", headers: { "content-type": "application/json" } });
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.error.code).toBe("bad_request");
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts|stack/i);
  });

  it("answers 415 when the body is not declared as JSON", async () => {
    const res = await api("/api/workflows", { method: "POST", body: JSON.stringify(restockDefinition()) , headers: { "content-type": "text/plain" } });
    expect(res.status).toBe(415);
    expect((await json(res)).error.code).toBe("unsupported_media_type");
  });

  it("answers 413 for a definition over 256 KiB", async () => {
    const def = restockDefinition({ description: "x".repeat(300 * 1024) });
    const res = await api("/api/workflows", { method: "POST", json: def });
    expect(res.status).toBe(413);
    expect((await json(res)).error.code).toBe("payload_too_large");
  });

  it("lists newest first, filters by status and pages with a cursor", async () => {
    const tag = uid("page");
    const made: any[] = [];
    for (let i = 0; i < 3; i++) made.push(await create({ description: tag }));
    await setStatus(made[1].id, "active");
    const page1 = await json(await api("/api/workflows?limit=2"));
    expect(page1.items.map((w: { id: string }) => w.id)).toEqual([made[2].id, made[1].id]);
    expect(page1.items[0]).toMatchObject({ trigger: { entity: "inventory_item" }, node_count: 3, stats: { last_run: null, runs_24h: 0 } });
    expect(page1.items[0].definition).toBeUndefined();
    const page2 = await json(await api(`/api/workflows?limit=2&cursor=${page1.next_cursor}`));
    expect(page2.items[0].id).toBe(made[0].id);
    const active = await json(await api("/api/workflows?status=active&limit=500"));
    expect(active.items.some((w: { id: string }) => w.id === made[1].id)).toBe(true);
    expect(active.items.every((w: { status: string }) => w.status === "active")).toBe(true);
  });

  it("rejects a bad status filter, limit or cursor with 400", async () => {
    expect((await api("/api/workflows?status=sleeping")).status).toBe(400);
    expect((await api("/api/workflows?limit=0")).status).toBe(400);
    const res = await api("/api/workflows?cursor=garbage!");
    expect(res.status).toBe(400);
    expect((await json(res)).error.issues[0].path).toBe("cursor");
  });
});

describe("versions", () => {
  it("makes a new version on every save and keeps the old ones", async () => {
    const wf = await create();
    const v2def = restockDefinition({ name: "Renamed" });
    const res = await api(`/api/workflows/${wf.id}`, { method: "PUT", json: v2def });
    expect(res.status).toBe(200);
    const v2 = await json(res);
    expect(v2).toMatchObject({ version: 2, name: "Renamed" });
    const versions = await json(await api(`/api/workflows/${wf.id}/versions`));
    expect(versions.items.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(versions.items[1].definition.name).toBe(wf.name);
    const one = await json(await api(`/api/workflows/${wf.id}/versions/1`));
    expect(one.definition.name).toBe(wf.name);
    expect((await api(`/api/workflows/${wf.id}/versions/9`)).status).toBe(404);
  });

  it("keeps definitions and versions in D1", async () => {
    const wf = await create();
    await api(`/api/workflows/${wf.id}`, { method: "PUT", json: restockDefinition({ name: "Stored" }) });
    const rows = await env.DB.prepare("SELECT version, definition FROM workflow_versions WHERE workflow_id = ? ORDER BY version").bind(wf.id).all<{ version: number; definition: string }>();
    expect(rows.results.map((r) => r.version)).toEqual([1, 2]);
    expect(JSON.parse(rows.results[1]!.definition).name).toBe("Stored");
  });

  it("refuses an invalid update and keeps the current version", async () => {
    const wf = await create();
    const res = await api(`/api/workflows/${wf.id}`, { method: "PUT", json: { name: "" } });
    expect(res.status).toBe(400);
    expect((await json(await api(`/api/workflows/${wf.id}`))).version).toBe(1);
  });

  it("refuses to change an archived workflow", async () => {
    const wf = await create();
    await setStatus(wf.id, "archived");
    const res = await api(`/api/workflows/${wf.id}`, { method: "PUT", json: restockDefinition() });
    expect(res.status).toBe(409);
  });

  it("refuses an update of an active workflow that could not run", async () => {
    const wf = await create();
    expect((await setStatus(wf.id, "active")).status).toBe(200);
    const def = restockDefinition();
    (def.nodes[2]!.config as { auth: unknown }).auth = { type: "bearer", credential: "NOT_THERE" };
    const res = await api(`/api/workflows/${wf.id}`, { method: "PUT", json: def });
    expect(res.status).toBe(422);
    expect((await json(res)).error.issues).toEqual([
      { path: "nodes.2.config.auth.credential", message: "No credential named NOT_THERE: add the secret CREDENTIAL_NOT_THERE" },
    ]);
  });
});

describe("status transitions", () => {
  const legal: [string[], string][] = [
    [[], "active"],
    [["active"], "paused"],
    [["active", "paused"], "active"],
    [["active"], "draft"],
    [["active", "paused"], "draft"],
    [[], "archived"],
    [["active"], "archived"],
    [["active", "paused"], "archived"],
  ];
  for (const [path, to] of legal) {
    const from = path.at(-1) ?? "draft";
    it(`allows ${from} → ${to}`, async () => {
      const wf = await create();
      for (const s of path) expect((await setStatus(wf.id, s)).status).toBe(200);
      const res = await setStatus(wf.id, to);
      expect(res.status).toBe(200);
      expect((await json(res)).status).toBe(to);
      expect((await json(await api(`/api/workflows/${wf.id}`))).status).toBe(to);
    });
  }

  const illegal: [string[], string][] = [
    [[], "paused"],
    [["archived"], "active"],
    [["archived"], "draft"],
    [["archived"], "paused"],
  ];
  for (const [path, to] of illegal) {
    const from = path.at(-1) ?? "draft";
    it(`refuses ${from} → ${to} with 409`, async () => {
      const wf = await create();
      for (const s of path) await setStatus(wf.id, s);
      const res = await setStatus(wf.id, to);
      expect(res.status).toBe(409);
      const body = await json(res);
      expect(body.error.code).toBe("conflict");
      expect(body.error.message).toContain(`cannot become ${to}`);
      expect((await json(await api(`/api/workflows/${wf.id}`))).status).toBe(from);
    });
  }

  it("treats asking for the current status as a no-op", async () => {
    const wf = await create();
    const res = await setStatus(wf.id, "draft");
    expect(res.status).toBe(200);
    expect((await json(res)).updated_at).toBe(wf.updated_at);
  });

  it("refuses activation with 422 when a credential is missing", async () => {
    const def = restockDefinition({ name: uid("cred") });
    (def.nodes[2]!.config as { auth: unknown }).auth = { type: "hmac", credential: "MISSING_ONE" };
    const wf = await json(await api("/api/workflows", { method: "POST", json: def }));
    const res = await setStatus(wf.id, "active");
    expect(res.status).toBe(422);
    expect((await json(res)).error.issues[0].path).toBe("nodes.2.config.auth.credential");
    expect((await json(await api(`/api/workflows/${wf.id}`))).status).toBe("draft");
  });

  it("rejects an unknown status with 400", async () => {
    const wf = await create();
    const res = await setStatus(wf.id, "asleep");
    expect(res.status).toBe(400);
    expect((await json(res)).error.issues[0].path).toBe("status");
  });

  it("indexes the trigger only while active", async () => {
    const wf = await create();
    const rows = () => env.DB.prepare("SELECT entity, tag, version FROM trigger_index WHERE workflow_id = ?").bind(wf.id).all();
    expect((await rows()).results).toEqual([]);
    await setStatus(wf.id, "active");
    expect((await rows()).results).toEqual([{ entity: "inventory_item", tag: "sneakers", version: 1 }]);
    await api(`/api/workflows/${wf.id}`, { method: "PUT", json: restockDefinition({ trigger: { entity: "product", tags: { include: [] } } }) });
    expect((await rows()).results).toEqual([{ entity: "product", tag: "*", version: 2 }]);
    await setStatus(wf.id, "paused");
    expect((await rows()).results).toEqual([]);
  });

  it("indexes a trigger with 100 include tags (more than one statement's bound parameters)", async () => {
    const include = Array.from({ length: 100 }, (_, i) => `tag${String(i).padStart(3, "0")}`);
    const wf = await create({ trigger: { entity: "product", tags: { include } } });
    const res = await setStatus(wf.id, "active");
    expect(res.status).toBe(200);
    const rows = await env.DB.prepare("SELECT tag, version FROM trigger_index WHERE workflow_id = ? ORDER BY tag").bind(wf.id).all();
    expect(rows.results).toEqual(include.map((tag) => ({ tag, version: 1 })));
    const saved = await api(`/api/workflows/${wf.id}`, { method: "PUT", json: restockDefinition({ trigger: { entity: "product", tags: { include: [...include].reverse() } } }) });
    expect(saved.status).toBe(200);
    const again = await env.DB.prepare("SELECT count(*) AS n FROM trigger_index WHERE workflow_id = ? AND version = 2").bind(wf.id).first<{ n: number }>();
    expect(again?.n).toBe(100);
  });
});

describe("validate and credentials", () => {
  it("validates without saving", async () => {
    const name = uid("val");
    const ok = await json(await api("/api/workflows/validate", { method: "POST", json: restockDefinition({ name }) }));
    expect(ok).toEqual({ valid: true, issues: [], activation_issues: [], warnings: [] });
    const bad = await json(await api("/api/workflows/validate", { method: "POST", json: { name } }));
    expect(bad.valid).toBe(false);
    expect(bad.issues.map((i: { path: string }) => i.path).sort()).toEqual(["nodes", "start", "trigger"]);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM workflows WHERE name = ?").bind(name).first<{ n: number }>();
    expect(count?.n).toBe(0);
  });

  it("lists activation issues for missing credentials", async () => {
    const def = restockDefinition();
    (def.nodes[2]!.config as { auth: unknown }).auth = { type: "basic", credential: "NOPE" };
    const res = await json(await api("/api/workflows/validate", { method: "POST", json: def }));
    expect(res.valid).toBe(true);
    expect(res.activation_issues).toHaveLength(1);
  });

  it("lists credential names, never values", async () => {
    const res = await api("/api/credentials");
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ items: [{ name: "BASIC_ERP" }, { name: "DEMO_ERP" }, { name: "HOOK_SECRET" }], next_cursor: null });
    expect(text).not.toContain("demo-token");
    expect(text).not.toContain("erp-password");
  });
});

describe("API description", () => {
  it("serves an OpenAPI 3.1 document generated from the route schemas", async () => {
    const doc = await json(await api("/api/openapi.json"));
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/api/workflows", "/api/workflows/{id}", "/api/workflows/{id}/status", "/api/credentials"]));
    expect(doc.paths["/api/workflows/{id}/status"].post.requestBody.content["application/json"].schema).toBeDefined();
  });

  it("answers unknown API routes with a JSON 404", async () => {
    const res = await api("/api/nothing-here");
    expect(res.status).toBe(404);
    expect((await json(res)).error.code).toBe("not_found");
  });
});
