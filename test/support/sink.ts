import { createServer, type IncomingMessage, type Server } from "node:http";

/**
 * A real HTTP server on 127.0.0.1 that webhooks call in tests, the benchmark and the drill.
 * Requests under /<bucket>/... are recorded; `POST /_sink/<bucket>/program` queues the responses
 * the next requests get (status, headers, body, delay_ms); `GET /_sink/<bucket>/requests` reads
 * what was recorded. Buckets keep parallel tests apart. `?fail_rate=<0..1>` answers that share of
 * unprogrammed requests with 503. `keep: false` in startSink records only a count per bucket.
 */
export interface Programmed {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  delay_ms?: number;
  /** Close the connection without answering (a network error for the caller). */
  hang_up?: boolean;
}

export interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
  /** The exact bytes of the body (an encrypted push message is not UTF-8). */
  body_base64: string;
  at: number;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function startSink(
  port = 0,
  opts: { keep?: boolean } = {},
): Promise<{ server: Server; port: number; requests: Map<string, Recorded[]>; counts: Map<string, number> }> {
  const keep = opts.keep ?? true;
  const counts = new Map<string, number>();
  const requests = new Map<string, Recorded[]>();
  const programs = new Map<string, Programmed[]>();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://sink");
    const bytes = await readBody(req);
    const body = bytes.toString("utf8");
    const parts = url.pathname.split("/").filter(Boolean);
    if (parts[0] === "_sink" && parts[1]) {
      const bucket = parts[1];
      if (req.method === "POST" && parts[2] === "program") {
        programs.set(bucket, [...(programs.get(bucket) ?? []), ...(JSON.parse(body) as Programmed[])]);
        res.writeHead(204).end();
        return;
      }
      if (req.method === "GET" && parts[2] === "requests") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(requests.get(bucket) ?? []));
        return;
      }
      res.writeHead(404).end();
      return;
    }
    const bucket = parts[0] ?? "default";
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : (v ?? "");
    counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
    if (keep) {
      const list = requests.get(bucket) ?? [];
      list.push({ method: req.method ?? "GET", path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body, body_base64: bytes.toString("base64"), at: Date.now() });
      requests.set(bucket, list);
    }
    // `?fail_rate=0.3` makes a flaky endpoint: that share of requests gets a 503 (the drill).
    const failRate = Number(url.searchParams.get("fail_rate") ?? 0);
    const next = programs.get(bucket)?.shift() ?? (failRate > 0 && Math.random() < failRate ? { status: 503 } : {});
    if (next.delay_ms) await new Promise((r) => setTimeout(r, next.delay_ms));
    if (next.hang_up) {
      req.socket.destroy();
      return;
    }
    const isText = typeof next.body === "string";
    res.writeHead(next.status ?? 200, { "content-type": isText ? "text/plain" : "application/json", ...next.headers });
    res.end(isText ? (next.body as string) : JSON.stringify(next.body ?? { ok: true }));
  });
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      resolve({ server, port: typeof address === "object" && address ? address.port : port, requests, counts });
    });
  });
}
