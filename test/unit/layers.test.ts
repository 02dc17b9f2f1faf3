/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";

/*
 * The layers of worker/ (README, "Layout"), read from the source: who may import whom, and which
 * modules touch no binding, so that the UI can type-check them without the Workers types.
 */

const raw = import.meta.glob<string>("../../worker/**/*.ts", { query: "?raw", import: "default", eager: true });
/** Source text by path under worker/, e.g. "engine/step.ts". */
const sources = new Map(Object.entries(raw).map(([path, text]) => [path.replace("../../worker/", ""), text]));

/** The files under worker/ a file imports (relative imports, resolved), type-only ones included. */
function imports(file: string): string[] {
  const text = sources.get(file)!;
  const dir = file.split("/").slice(0, -1);
  return [...text.matchAll(/(?:from|import)\s+"(\.[^"]+)"/g)].map((m) => {
    const parts = [...dir];
    for (const seg of m[1]!.split("/")) {
      if (seg === "..") parts.pop();
      else if (seg !== ".") parts.push(seg);
    }
    const path = parts.join("/");
    return sources.has(`${path}.ts`) ? `${path}.ts` : `${path}/index.ts`;
  });
}

const under = (folder: string) => [...sources.keys()].filter((f) => f.startsWith(`${folder}/`));
const folderOf = (file: string) => (file.includes("/") ? file.split("/")[0]! : file);

/** Imports from files in `folder` into any of `forbidden` folders, as "from -> to". */
function crossings(folder: string, forbidden: string[]): string[] {
  return under(folder).flatMap((f) => imports(f).filter((to) => forbidden.includes(folderOf(to))).map((to) => `${f} -> ${to}`));
}

const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
const BINDING = /cloudflare:|\b(?:D1Database|D1PreparedStatement|SendEmail|EmailMessage|DurableObject\w*|MessageBatch|ExecutionContext|SyncKvStorage|Env)\b/;

/** Every file `roots` reach through imports under worker/. */
function reach(roots: string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    stack.push(...imports(f));
  }
  return seen;
}

describe("layers of worker/", () => {
  it("reads the sources", () => {
    expect(sources.has("engine/run-machine.ts")).toBe(true);
    expect(imports("contract/definition.ts")).toContain("nodes/index.ts");
  });

  it("definition/ imports nothing above it", () => {
    expect(crossings("definition", ["engine", "nodes", "contract", "db", "planning", "workflows", "run", "flow", "intake", "schedule", "backfill", "retention", "routes"])).toEqual([]);
  });

  it("db/ imports nothing from the engine, the nodes or the contract", () => {
    expect(crossings("db", ["engine", "nodes", "contract", "planning", "workflows", "run", "flow", "intake", "schedule", "backfill", "retention", "routes"])).toEqual([]);
  });

  it("the engine knows node types only through the catalog it is handed", () => {
    expect(crossings("engine", ["nodes", "contract", "db", "workflows", "run", "flow", "intake", "schedule", "backfill", "retention", "routes"])).toEqual([]);
  });

  it("the run shell sits below flow control, and flow control below what starts runs", () => {
    expect(crossings("run", ["flow", "restock", "intake", "schedule", "backfill", "retention", "routes"])).toEqual([]);
    expect(crossings("flow", ["restock", "intake", "schedule", "backfill", "retention", "routes"])).toEqual([]);
  });

  it("the contract, the nodes and the engine touch no binding, nor does anything they import", () => {
    const roots = [...under("contract"), ...under("nodes"), ...under("engine")];
    const bound = [...reach(roots)].filter((f) => BINDING.test(code(sources.get(f)!)));
    expect(bound).toEqual([]);
  });

  it("retention/ sits beside intake/: below the routes and the entry, and nothing below imports it", () => {
    expect(crossings("retention", ["routes", "index.ts", "scheduled.ts", "intake", "run", "flow"])).toEqual([]);
    const below = ["lib", "definition", "entities", "db", "discounts", "planning", "engine", "nodes", "contract", "workflows", "restock", "engagement", "intake", "run", "flow"];
    expect(below.flatMap((folder) => crossings(folder, ["retention"]))).toEqual([]);
  });
});
