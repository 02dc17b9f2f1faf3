import { escapeHtml } from "../definition/interpolate";

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string }>;
  security?: unknown[];
}

interface Doc {
  info: { title: string; version: string };
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown> };
}

/** A body schema that only refers to a component (`$ref`, or an allOf of one) shown as that component. */
function shown(doc: Doc, schema: unknown): unknown {
  const ref = (s: unknown) => (s && typeof s === "object" && "$ref" in s && typeof s.$ref === "string" ? s.$ref : undefined);
  const only = schema && typeof schema === "object" && "allOf" in schema && Array.isArray(schema.allOf) && schema.allOf.length === 1 ? schema.allOf[0] : schema;
  const name = ref(only)?.replace("#/components/schemas/", "");
  return (name && doc.components?.schemas?.[name]) ?? schema;
}

/** A readable, dependency-free page of the OpenAPI document: one section per operation. */
export function renderDocs(doc: Doc): string {
  const sections = Object.entries(doc.paths ?? {}).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => {
      const params = (op.parameters ?? [])
        .map((p) => `<li><code>${escapeHtml(p.name)}</code> <small>${escapeHtml(p.in)}${p.required ? ", required" : ""}</small></li>`)
        .join("");
      const responses = Object.entries(op.responses ?? {})
        .map(([code, r]) => `<li><b>${escapeHtml(code)}</b> ${escapeHtml(r.description ?? "")}</li>`)
        .join("");
      const body = shown(doc, op.requestBody?.content?.["application/json"]?.schema);
      const id = `${method}-${path}`.replace(/[^a-z0-9]+/gi, "-");
      return `<section id="${id}">
<h2><span class="m ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code>${op.operationId ? ` <small>${escapeHtml(op.operationId)}</small>` : ""}</h2>
${op.summary ? `<p>${escapeHtml(op.summary)}</p>` : ""}${op.description ? `<p class="d">${escapeHtml(op.description)}</p>` : ""}
${op.security && op.security.length === 0 ? "<p><small>No token needed.</small></p>" : ""}
${params ? `<h3>Parameters</h3><ul>${params}</ul>` : ""}
${body ? `<details><summary>Request body schema</summary><pre>${escapeHtml(JSON.stringify(body, null, 2))}</pre></details>` : ""}
<h3>Responses</h3><ul>${responses}</ul></section>`;
    }),
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(doc.info.title)} — API</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1f2328}
section{border-top:1px solid #d0d7de;padding:.5rem 0}
h2{font-size:1.05rem}.m{display:inline-block;min-width:4.5em;font-size:.8rem;padding:.1em .4em;border-radius:4px;color:#fff;background:#57606a;text-align:center}
.get{background:#0969da}.post{background:#1a7f37}.put{background:#9a6700}.delete{background:#cf222e}
pre{background:#f6f8fa;padding:.75rem;overflow:auto;max-height:24rem}.d{color:#57606a}
</style></head><body>
<h1>${escapeHtml(doc.info.title)} <small>${escapeHtml(doc.info.version)}</small></h1>
<p>Every route under <code>/api</code> takes <code>Authorization: Bearer &lt;token&gt;</code> unless it says otherwise.
Errors are <code>{"error": {"code", "message", "issues"}}</code>. The machine-readable document is <a href="/api/openapi.json">/api/openapi.json</a>.</p>
${sections.join("\n")}
</body></html>`;
}
