import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import PostalMime from "postal-mime";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RunState } from "../../worker/engine/run-state";
import type { RunObject } from "../../worker/run/run-object";
import { api, json, uid } from "../support/api";
import { createWorkflow, fireAt, noJitter, program, received, settled, startRun, startTest, stubOf, webhook } from "../support/runs";

/*
 * The run object end to end: real Durable Object, real alarms (fired with runDurableObjectAlarm,
 * the clock moved instead of sleeping), real HTTP to the local sink, the real send_email binding.
 */

describe("retries", () => {
  it("retries a 503 with the same Idempotency-Key, spaced by the back-off, and records every attempt", async () => {
    const bucket = uid("retry");
    await program(bucket, [{ status: 503 }, { status: 503 }, { status: 200, body: { ok: 1 } }]);
    const { id, run } = await startTest([webhook(bucket, { retry: noJitter })]);
    let step = run.steps[0]!;
    expect(step.status).toBe("running");
    expect(step.attempts).toHaveLength(1);
    expect(step.attempts[0]!.error).toContain("503");
    const first = Date.parse(step.attempts[0]!.finished_at!);
    expect(Date.parse(step.next_attempt_at!) - first).toBe(1000);

    let fired = await fireAt(id, Date.parse(step.next_attempt_at!));
    step = fired.run.steps[0]!;
    expect(step.attempts).toHaveLength(2);
    expect(Date.parse(step.next_attempt_at!) - Date.parse(step.attempts[1]!.finished_at!)).toBe(2000);

    fired = await fireAt(id, Date.parse(step.next_attempt_at!));
    expect(fired.run.status).toBe("completed");
    step = fired.run.steps[0]!;
    expect(step.status).toBe("succeeded");
    expect(step.attempts.map((a) => a.error === null)).toEqual([false, false, true]);
    expect(step.next_attempt_at).toBeNull();
    expect(step.output).toMatchObject({ status: 200, body: { ok: 1 } });

    const calls = await received(bucket);
    expect(calls).toHaveLength(3);
    const keys = new Set(calls.map((c) => c.headers["idempotency-key"]));
    expect(keys).toEqual(new Set([`${id}:notify`]));
    expect(JSON.parse(calls[0]!.body)).toEqual({ sku: "SKU-1" });
    expect(fired.run.summary.webhooks_called).toBe(1);
  });

  it("does not call back before Retry-After", async () => {
    const bucket = uid("later");
    await program(bucket, [{ status: 429, headers: { "retry-after": "120" } }]);
    const { run } = await startTest([webhook(bucket, { retry: noJitter })]);
    const step = run.steps[0]!;
    expect(Date.parse(step.next_attempt_at!) - Date.parse(step.attempts[0]!.finished_at!)).toBeGreaterThanOrEqual(120_000);
  });

  it("fails a 404 at once, and goes on past it when on_error is continue", async () => {
    const bucket = uid("gone");
    await program(bucket, [{ status: 404 }, { status: 404 }]);
    const strict = await startTest([webhook(bucket)]);
    expect(strict.run.status).toBe("failed");
    expect(strict.run.steps[0]!.attempts).toHaveLength(1);
    expect(strict.run.error).toContain('Step "notify" failed');

    const lenient = await startTest([
      webhook(bucket, { on_error: "continue", next: "after" }),
      { id: "after", type: "condition", config: { all: [{ left: "{{steps.notify.output.status}}", op: "eq", right: 404 }] } },
    ]);
    expect(lenient.run.status).toBe("completed");
    expect(lenient.run.steps.map((s) => s.status)).toEqual(["failed", "succeeded"]);
    expect(lenient.run.steps[1]!.output).toEqual({ result: true, branch: "then" });
    expect(lenient.run.summary.errors).toBe(1);
  });

  it("times a slow step out and retries it", async () => {
    const bucket = uid("slow");
    await program(bucket, [{ status: 200, delay_ms: 3000 }]);
    const { run } = await startTest([webhook(bucket, { timeout_ms: 300, retry: noJitter })]);
    const step = run.steps[0]!;
    expect(step.attempts[0]!.error).toBe("Timed out after 300 ms");
    expect(step.next_attempt_at).not.toBeNull();
  });

  it("resumes a retrying run after the object is evicted", async () => {
    const bucket = uid("evict");
    await program(bucket, [{ status: 500 }, { status: 200 }]);
    // A long back-off, so that the real alarm cannot fire before the test moves the clock.
    const { id, run } = await startTest([webhook(bucket, { retry: { ...noJitter, initial_delay_ms: 60_000 } })]);
    await evictDurableObject(stubOf(id));
    const fired = await fireAt(id, Date.parse(run.steps[0]!.next_attempt_at!));
    expect(fired.run.status).toBe("completed");
    expect((await received(bucket)).length).toBe(2);
  });
});

describe("pinning", () => {
  it("resumes a sleeping run on its pinned version's nodes after a new version is saved", async () => {
    const [v1Bucket, v2Bucket] = [uid("pinned"), uid("newer")];
    const nodes = (bucket: string, last: string) => [
      { id: "pause", type: "wait", config: { duration: { hours: 1 } }, next: last },
      { ...webhook(bucket), id: last },
    ];
    const workflowId = await createWorkflow(nodes(v1Bucket, "notify"));
    const id = await startRun(workflowId);
    const sleeping = await settled(id);
    expect(sleeping.steps.map((s) => [s.node_id, s.status])).toEqual([["pause", "running"], ["notify", "pending"]]);

    const name = uid("renamed");
    const saved = await api(`/api/workflows/${workflowId}`, {
      method: "PUT",
      json: { name, trigger: { entity: "inventory_item" }, start: "pause", nodes: nodes(v2Bucket, "announce") },
    });
    expect((await json(saved)).version).toBe(2);
    // A fresh instance reads the definition again: by the version the run is pinned to.
    await evictDurableObject(stubOf(id));
    const { run } = await fireAt(id, Date.parse(sleeping.steps[0]!.wake_at!));

    expect(run).toMatchObject({ status: "completed", workflow_version: 1 });
    expect(run.steps.map((s) => [s.node_id, s.status])).toEqual([["pause", "succeeded"], ["notify", "succeeded"]]);
    expect(run.definition.nodes.map((n) => n.id)).toEqual(["pause", "notify"]);
    expect(await received(v1Bucket)).toHaveLength(1);
    expect(await received(v2Bucket)).toHaveLength(0);
  });
});

describe("storage", () => {
  it("keeps a run too large for one storage row, a row per step, and reads it back after eviction", async () => {
    // A 200 KB attribute interpolated into ten emails: over 2 MB of resolved inputs.
    const big = "x".repeat(200 * 1024);
    const nodes = Array.from({ length: 10 }, (_, i) => ({
      id: `mail_${i}`,
      type: "send_email",
      config: { to: ["planner@example.com"], subject: `Part ${i}`, body: "{{trigger.data.note}}" },
      ...(i < 9 ? { next: `mail_${i + 1}` } : {}),
    }));
    const { id, run } = await startTest(nodes, { sku: "SKU-1", note: big });
    expect(run.status).toBe("completed");
    expect(run.summary.emails_sent).toBe(10);
    const layout = await runInDurableObject(stubOf(id), (_obj: RunObject, state) => state.storage.kv.get<{ layout: string }>("run")!.layout);
    expect(layout).toBe("split");
    await evictDurableObject(stubOf(id));
    const again = await settled(id);
    expect(again.steps.map((s) => s.status)).toEqual(Array(10).fill("succeeded"));
    expect((again.steps[9]!.input as { body: string }).body).toHaveLength(big.length);
  });

  it("sizes a run by what storage takes, not by its length: text beyond Latin-1 doubles it", async () => {
    // ~900,000 UTF-16 code units, under 1 MiB by .length, but one CJK character makes the runtime
    // store every code unit in two bytes: ~1.8 MB in one row, too close to the 2 MB value limit.
    const note = "在" + "x".repeat(150 * 1024);
    const nodes = Array.from({ length: 5 }, (_, i) => ({
      id: `mail_${i}`,
      type: "send_email",
      config: { to: ["planner@example.com"], subject: `Part ${i}`, body: "{{trigger.data.note}}" },
      ...(i < 4 ? { next: `mail_${i + 1}` } : {}),
    }));
    const { id, run } = await startTest(nodes, { sku: "SKU-2", note });
    expect(run.status).toBe("completed");
    const stored = await runInDurableObject(stubOf(id), (_obj: RunObject, state) => state.storage.kv.get<{ layout: string }>("run")!);
    // The whole run is under 1 MiB of code units: sizing by .length would have kept one row.
    expect(JSON.stringify(run).length).toBeLessThan(1024 * 1024);
    expect(stored.layout).toBe("split");
  });

  it("leaves at most a harmless alarm behind once a run ended: it writes nothing and leaves none", async () => {
    const bucket = uid("done");
    const { id, run } = await startTest([webhook(bucket)]);
    expect(run.status).toBe("completed");
    const revOf = () => runInDurableObject(stubOf(id), (_obj: RunObject, state) => state.storage.kv.get<RunState>("run")!.rev);
    const rev = await revOf();
    // The alarm armed at the webhook's deadline is not deleted (that would be one more write);
    // when it fires, the ended run writes nothing and arms nothing.
    await runDurableObjectAlarm(stubOf(id));
    expect(await revOf()).toBe(rev);
    expect(await runDurableObjectAlarm(stubOf(id))).toBe(false);
    const row = await env.DB.prepare("SELECT status FROM runs WHERE id = ?").bind(id).first<{ status: string }>();
    expect(row).toEqual({ status: "completed" });
    expect(await received(bucket)).toHaveLength(1);
  });
});

describe("secrets", () => {
  const lines: string[] = [];
  beforeEach(() => {
    lines.length = 0;
    for (const method of ["log", "error", "warn", "info"] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      });
    }
  });
  afterEach(() => vi.restoreAllMocks());

  it("keeps credential values out of the run record, the API and every log line", async () => {
    const bucket = uid("secret");
    // A careless server echoes the token back, in the body and a header.
    await program(bucket, [{ status: 200, headers: { "x-echo": "Bearer demo-token" }, body: { seen: "Bearer demo-token" } }]);
    const { id, run } = await startTest([webhook(bucket, { config: { url: `${env.SINK_ORIGIN}/${bucket}/h`, auth: { type: "bearer", credential: "DEMO_ERP" } } })]);
    expect(run.status).toBe("completed");
    expect((await received(bucket))[0]!.headers.authorization).toBe("Bearer demo-token");
    expect(run.steps[0]!.input).toMatchObject({ auth: { type: "bearer", credential: "DEMO_ERP" } });
    const text = await (await api(`/api/runs/${id}`)).text();
    expect(text).toContain("DEMO_ERP");
    expect(text).not.toContain("demo-token");
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((l) => l.includes("demo-token"))).toEqual([]);
  });
});

describe("email", () => {
  it("sends through the binding, keeps the raw message and serves it as rfc822 and as HTML", async () => {
    const { id, run } = await startTest(
      [
        {
          id: "mail",
          type: "send_email",
          config: { to: ["planner@example.com"], subject: "Low stock: {{trigger.data.sku}}", format: "markdown", body: "**{{trigger.data.sku}}** has {{trigger.data.note}}" },
        },
      ],
      { sku: "SKU-9", note: "<script>alert(1)</script>" },
    );
    expect(run.status).toBe("completed");
    expect(run.summary.emails_sent).toBe(1);
    expect(run.steps[0]!.output).toMatchObject({ to: ["planner@example.com"], subject: "Low stock: SKU-9" });
    const raw = await api(`/api/runs/${id}/steps/mail/message`);
    expect(raw.headers.get("content-type")).toBe("message/rfc822");
    const parsed = await PostalMime.parse(await raw.text());
    expect(parsed.subject).toBe("Low stock: SKU-9");
    expect(parsed.html).toContain("<strong>SKU-9</strong>");
    expect(parsed.html).not.toContain("<script>");
    expect(parsed.html).toContain("&lt;script&gt;");
    const html = await api(`/api/runs/${id}/steps/mail/message?as=html`);
    expect(html.headers.get("content-type")).toContain("text/html");
    expect(html.headers.get("content-security-policy")).toContain("sandbox");
    expect(await html.text()).toContain("<strong>SKU-9</strong>");
    expect((await api(`/api/runs/${id}/steps/nope/message`)).status).toBe(404);
  });
});
