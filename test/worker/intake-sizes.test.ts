import { describe, expect, it, vi } from "vitest";
import { api, json, uid } from "../support/api";
import { activeWorkflow, inventoryEvent, postEvents } from "../support/events";

/*
 * Sizes are UTF-8 bytes, end to end: the 1 MiB request limit, and the queue's limits per message
 * and per batch. Every event here goes through the real inbox, the real queue and the real
 * consumer; the test waits for the runs they start.
 */

const encoder = new TextEncoder();
const MiB = 1024 * 1024;

/** Waits until the workflow has a completed run for each of these events. */
async function expectRuns(workflowId: string, events: { id: string }[]) {
  await vi.waitFor(
    async () => {
      const page = await json(await api(`/api/runs?workflow_id=${workflowId}&status=completed&limit=500`));
      expect(page.items.map((r: { event_id: string }) => r.event_id).sort()).toEqual(events.map((e) => e.id).sort());
    },
    { timeout: 15_000, interval: 100 },
  );
}

describe("event sizes in bytes", () => {
  it("starts the runs of 100 events of 1,000 CJK characters each (about 330 KB in one request)", async () => {
    const tag = uid("cjk");
    const wf = await activeWorkflow({ tags: { include: [tag] } });
    const events = Array.from({ length: 100 }, () => inventoryEvent({}, { tags: [tag], note: "価格改定".repeat(250) }));
    const body = JSON.stringify({ events });
    expect(encoder.encode(body).byteLength).toBeGreaterThan(300_000);
    const res = await postEvents(body);
    expect(res.status).toBe(202);
    await expectRuns(wf, events);
  });

  it("starts the run of a 150 KB event and of a small event posted with it", async () => {
    const tag = uid("euro");
    const wf = await activeWorkflow({ tags: { include: [tag] } });
    // 50,000 "€" are 50,000 UTF-16 units but 150,000 bytes: too large for one queue message.
    const large = inventoryEvent({}, { tags: [tag], note: "€".repeat(50_000) });
    const small = inventoryEvent({}, { tags: [tag] });
    expect((await postEvents({ events: [large, small] })).status).toBe(202);
    await expectRuns(wf, [large, small]);
  });

  it("accepts a request of exactly 1 MiB of multi-byte text and starts every run; one byte more is 413", async () => {
    const tag = uid("mib");
    const wf = await activeWorkflow({ tags: { include: [tag] } });
    // Four events of 218,000 bytes of text ("€" 3 bytes, CJK 3, an emoji 4), and one that fills up to 1 MiB.
    const heavy = () => inventoryEvent({}, { tags: [tag], note: "€".repeat(60_000) + "価格".repeat(5_000) + "🧦".repeat(2_000) });
    const filler = inventoryEvent({}, { tags: [tag], note: "" });
    const fill = MiB - encoder.encode(JSON.stringify({ events: [heavy(), heavy(), heavy(), heavy(), filler] })).byteLength;
    const events = [heavy(), heavy(), heavy(), heavy(), { ...filler, data: { ...filler.data, note: "x".repeat(fill) } }];
    const body = JSON.stringify({ events });
    expect(encoder.encode(body).byteLength).toBe(MiB);

    const over = await postEvents(JSON.stringify({ events: [...events.slice(0, 4), { ...filler, data: { ...filler.data, note: "x".repeat(fill + 1) } }] }));
    expect(over.status).toBe(413);
    expect((await json(over)).error.code).toBe("payload_too_large");

    const res = await postEvents(body);
    expect(res.status).toBe(202);
    expect(await json(res)).toEqual({ accepted: 5 });
    await expectRuns(wf, events);
  });
});
