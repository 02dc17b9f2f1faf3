import { exports } from "cloudflare:workers";

export const TOKEN = "test-token";

let counter = 0;
/** A name unique within the test run: storage is shared by the tests of a file. */
export function uid(prefix = "t"): string {
  counter += 1;
  return `${prefix}_${Date.now().toString(36)}_${counter}_${Math.random().toString(36).slice(2, 8)}`;
}

export async function api(path: string, init: RequestInit & { json?: unknown; token?: string | null } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.token !== null) headers.set("authorization", `Bearer ${init.token ?? TOKEN}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  return exports.default.fetch(new Request(`http://localhost${path}`, { ...init, headers, body: body ?? null }));
}

export async function json<T = any>(res: Response): Promise<T> {
  return (await res.json()) as T;
}
