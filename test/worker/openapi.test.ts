import { describe, expect, it } from "vitest";
import { z } from "zod";
import { pageSchema, RunListItemSchema, RunSchema, SavedWorkflowSchema, VersionDefinitionSchema, WorkflowListItemSchema, WorkflowSchema, WorkflowVersionSchema } from "../../worker/contract";
import { PreviewRequestSchema } from "../../worker/contract/preview";
import { parseEvents } from "../../worker/intake/envelope";
import { definitionExamples, eventExamples, previewExamples } from "../../worker/routes/examples";
import { api, json, uid } from "../support/api";

type Schema = Record<string, unknown>;
interface Media {
  schema?: Schema;
}
interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  requestBody?: { content?: Record<string, Media & { examples?: Record<string, { summary?: string; value: unknown }> }> };
  responses?: Record<string, { content?: Record<string, Media> }>;
}
interface Document {
  servers?: { url: string }[];
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

const METHODS = new Set(["get", "put", "post", "patch", "delete"]);

async function openapi(): Promise<Document> {
  const res = await api("/api/openapi.json", { token: null });
  expect(res.status).toBe(200);
  return json(res);
}

/** Every operation of the document, named "POST /api/workflows". */
function operations(doc: Document): { name: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.has(method))
      .map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })),
  );
}

/** The schema a $ref (or an allOf of one schema) stands for. */
function resolve(doc: Document, schema: Schema): Schema {
  if (typeof schema.$ref === "string") return resolve(doc, doc.components?.schemas?.[schema.$ref.replace("#/components/schemas/", "")] ?? {});
  if (Array.isArray(schema.allOf) && schema.allOf.length === 1) return resolve(doc, schema.allOf[0] as Schema);
  return schema;
}

/** Says nothing of the body: no schema, an empty one, or a bare `{"type": "object"}` (words aside). */
function untyped(doc: Document, schema: Schema | undefined): boolean {
  if (!schema) return true;
  const { description: _d, title: _t, example: _e, ...rest } = resolve(doc, schema);
  const keys = Object.keys(rest);
  return keys.length === 0 || (keys.length === 1 && rest.type === "object");
}

/** "createWorkflow: 201 application/json" for each body the operation leaves untyped. */
function untypedBodies(doc: Document, name: string, op: Operation): string[] {
  const bodies = [
    ...Object.entries(op.requestBody?.content ?? {}).map(([media, m]) => ({ where: `request ${media}`, schema: m.schema })),
    ...Object.entries(op.responses ?? {})
      .filter(([status]) => status.startsWith("2"))
      .flatMap(([status, r]) => Object.entries(r.content ?? {}).map(([media, m]) => ({ where: `${status} ${media}`, schema: m.schema }))),
  ];
  return bodies.filter((b) => untyped(doc, b.schema)).map((b) => `${name}: ${b.where}`);
}

describe("the OpenAPI document", () => {
  it("names every operation with its own camelCase operationId", async () => {
    const ops = operations(await openapi());
    expect(ops.length).toBeGreaterThan(20);
    expect(ops.filter(({ op }) => !/^[a-z][a-zA-Z]+$/.test(op.operationId ?? "")).map((o) => o.name)).toEqual([]);
    const ids = ops.map(({ op }) => op.operationId);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    expect(ids).toEqual(expect.arrayContaining(["createWorkflow", "listWorkflows", "getRun", "listPlans", "receiveEvents", "listStaleEvents"]));
  });

  it("types every request body and every successful answer", async () => {
    const doc = await openapi();
    const untypedOnes = operations(doc).flatMap(({ name, op }) => untypedBodies(doc, name, op));
    expect(untypedOnes).toEqual([]);
  });

  it("describes a definition body as the workflow definition", async () => {
    const doc = await openapi();
    for (const op of [doc.paths["/api/workflows"]!.post!, doc.paths["/api/workflows/{id}"]!.put!, doc.paths["/api/workflows/validate"]!.post!]) {
      const body = resolve(doc, op.requestBody!.content!["application/json"]!.schema!);
      expect(body.properties).toHaveProperty("nodes");
      expect(body.properties).toHaveProperty("trigger");
      expect(body.required).toEqual(expect.arrayContaining(["name", "trigger", "start", "nodes"]));
    }
  });
});

describe("answers in the contract's shapes", () => {
  const strictPage = <T extends z.ZodObject>(item: T) => pageSchema(item.strict()).strict();

  it("workflows, versions and runs parse with the contract's schemas, with no field the contract lacks", async () => {
    const def = {
      name: uid("contract"),
      trigger: { entity: "inventory_item" },
      start: "check",
      nodes: [{ id: "check", type: "condition", config: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] } }],
    };
    const created = await api("/api/workflows", { method: "POST", json: def });
    expect(created.status).toBe(201);
    const wf = SavedWorkflowSchema.strict().parse(await json(created));
    WorkflowSchema.strict().parse(await json(await api(`/api/workflows/${wf.id}`)));
    strictPage(WorkflowListItemSchema).parse(await json(await api("/api/workflows?limit=5")));
    strictPage(WorkflowVersionSchema).parse(await json(await api(`/api/workflows/${wf.id}/versions`)));
    VersionDefinitionSchema.strict().parse(await json(await api(`/api/workflows/${wf.id}/versions/1`)));

    const started = await api(`/api/workflows/${wf.id}/test`, {
      method: "POST",
      json: { entity_id: uid("inv"), data: { variant_id: "v", shop_id: "s", on_hand: 2, on_order: 0, target: 10 } },
    });
    expect(started.status).toBe(202);
    const { id } = await json(started);
    const run = RunSchema.strict().parse(await json(await api(`/api/runs/${id}`)));
    expect(run.steps.map((s) => s.status)).toEqual(["succeeded"]);
    strictPage(RunListItemSchema).parse(await json(await api(`/api/runs?workflow_id=${wf.id}`)));
  });
});

describe("the API reference (issue 14)", () => {
  it("gives every operation an operationId, a short one-line summary and one of the document's tags", async () => {
    const doc = await openapi();
    const ops = operations(doc);
    expect(ops.filter(({ op }) => !op.operationId).map((o) => o.name)).toEqual([]);
    // The reference's sidebar lists operations by summary: details go in the description.
    expect(ops.filter(({ op }) => !op.summary?.trim() || op.summary.includes("\n") || op.summary.length > 60).map((o) => `${o.name}: ${o.op.summary}`)).toEqual([]);
    const tags = new Set((doc.tags ?? []).map((t) => t.name));
    expect(ops.filter(({ op }) => op.tags?.length !== 1 || !tags.has(op.tags[0]!)).map((o) => o.name)).toEqual([]);
    expect(doc.tags?.every((t) => t.description)).toBe(true);
  });

  it("names the server that answered, so that Try it sends to it", async () => {
    const doc = await openapi();
    expect(doc.servers).toEqual([expect.objectContaining({ url: "http://localhost" })]);
  });

  it("shows examples of the event envelope, the workflow definition and the preview request", async () => {
    const doc = await openapi();
    const examples = (path: string, method: string) => doc.paths[path]![method]!.requestBody!.content!["application/json"]!.examples;
    expect(examples("/api/events", "post")).toEqual(eventExamples);
    for (const [path, method] of [["/api/workflows", "post"], ["/api/workflows/{id}", "put"], ["/api/workflows/validate", "post"]] as const) {
      expect(examples(path, method)).toEqual(definitionExamples);
    }
    expect(examples("/api/workflows/{id}/preview", "post")).toEqual(previewExamples);
  });

  it("gives examples the API accepts", async () => {
    for (const [name, example] of Object.entries(eventExamples)) expect(parseEvents(example.value).ok, name).toBe(true);
    for (const [name, example] of Object.entries(previewExamples)) expect(PreviewRequestSchema.safeParse(example.value).success, name).toBe(true);
    for (const example of Object.values(definitionExamples)) {
      const res = await api("/api/workflows/validate", { method: "POST", json: example.value });
      expect(res.status).toBe(200);
      expect(await json(res)).toMatchObject({ valid: true, issues: [], activation_issues: [] });
    }
  });

  it("serves the reference page with Scalar's script from this server, needing no token", async () => {
    const res = await api("/api/docs", { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('<script src="/vendor/scalar/standalone.js"></script>');
    expect(html).toContain('"url": "/api/openapi.json"');
    expect(html).not.toMatch(/https?:\/\/(?!localhost)/);
  });
});

describe("the order of the reference", () => {
  it("lists paths in order, each path's methods GET, POST, PUT, PATCH, DELETE", async () => {
    const doc = await openapi();
    const paths = Object.keys(doc.paths);
    expect(paths).toEqual([...paths].sort());
    const rank = ["get", "post", "put", "patch", "delete"];
    for (const item of Object.values(doc.paths)) {
      const methods = Object.keys(item).filter((m) => METHODS.has(m));
      expect(methods).toEqual([...methods].sort((a, b) => rank.indexOf(a) - rank.indexOf(b)));
    }
  });
});
