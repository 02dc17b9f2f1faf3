// The floor Worker of `npm run bench` (see wrangler.toml here): nothing but what every run of ours
// needs at least — a queue message, a new Durable Object, one row written in it.
import { DurableObject } from "cloudflare:workers";

/** Messages consumed, and how long each took from its send to its row (one isolate locally). */
let consumed = 0;
let latencies = [];

export class Row extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS r (id TEXT PRIMARY KEY, at INTEGER NOT NULL)");
  }

  record(id) {
    this.ctx.storage.sql.exec("INSERT OR IGNORE INTO r (id, at) VALUES (?, ?)", id, Date.now());
    return 1;
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/send") {
      const n = Math.min(100, Number(url.searchParams.get("n") ?? 10));
      await env.Q.sendBatch(Array.from({ length: n }, () => ({ body: { id: crypto.randomUUID(), at: Date.now() } })));
      return new Response("accepted", { status: 202 });
    }
    if (url.pathname === "/direct") {
      const id = crypto.randomUUID();
      await env.ROWS.get(env.ROWS.idFromName(id)).record(id);
      return new Response("ok");
    }
    if (url.pathname === "/count") {
      const out = { consumed, latencies };
      if (url.searchParams.has("reset")) latencies = [];
      return Response.json(out);
    }
    return new Response("not found", { status: 404 });
  },

  async queue(batch, env) {
    await Promise.all(
      batch.messages.map(async (m) => {
        await env.ROWS.get(env.ROWS.idFromName(m.body.id)).record(m.body.id);
        latencies.push(Date.now() - m.body.at);
        m.ack();
      }),
    );
    consumed += batch.messages.length;
  },
};
