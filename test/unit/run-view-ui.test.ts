import { describe, expect, it } from "vitest";
import { decodeWords, parseHeaders } from "../../ui/src/lib/mail-headers";
import { stepOutcome, type OutcomeNode } from "../../ui/src/lib/step-outcome";
import type { StepRecord } from "../../worker/contract";
import { buildMime } from "../../worker/lib/mime";

/*
 * The run page's pure parts: what happened to a step without attempts, in one sentence
 * (ui/src/lib/step-outcome.ts), and the headers of the email a step sent, read from the message
 * exactly as the worker builds it (ui/src/lib/mail-headers.ts).
 */

const step = (over: Partial<StepRecord>): StepRecord => ({
  node_id: "s",
  type: "condition",
  status: "succeeded",
  input: null,
  output: null,
  logs: [],
  attempts: [],
  error: null,
  started_at: "2026-03-01T12:00:00.000Z",
  finished_at: "2026-03-01T12:00:00.000Z",
  next_attempt_at: null,
  wake_at: null,
  ...over,
});
const condition: OutcomeNode = { type: "condition", branches: true, labels: { then: "If true", else: "If false" } };
const wait: OutcomeNode = { type: "wait", branches: false, labels: { then: "If true", else: "If false" } };
const time = (iso: string) => `<${iso}>`;

describe("stepOutcome", () => {
  it("says which branch a condition took, not “Attempts 0”", () => {
    expect(stepOutcome(step({ output: { result: true, branch: "then" } }), condition, time)).toBe("Evaluated: took “If true”.");
    expect(stepOutcome(step({ output: { result: false, branch: "else" } }), condition, time)).toBe("Evaluated: took “If false”.");
    const approval = { type: "approval", branches: true, labels: { then: "Approved", else: "Rejected" } };
    expect(stepOutcome(step({ type: "approval", output: { result: false } }), approval, time)).toBe("Went on to “Rejected”.");
  });

  it("says a wait was cancelled while it waited, and a step never started was cancelled before", () => {
    expect(stepOutcome(step({ type: "wait", status: "cancelled", wake_at: "2026-03-03T12:00:00.000Z", finished_at: null }), wait, time)).toBe(
      "Cancelled while waiting: the run was cancelled before this step finished.",
    );
    expect(stepOutcome(step({ type: "call_webhook", status: "cancelled", started_at: null, finished_at: null }), wait, time)).toBe("Cancelled before it started: the run was cancelled first.");
  });

  it("says until when a finished wait waited, and what skipped and pending steps mean", () => {
    expect(stepOutcome(step({ type: "wait", output: { waited_until: "2026-03-02T00:00:00.000Z" } }), wait, time)).toBe("Waited until <2026-03-02T00:00:00.000Z>.");
    expect(stepOutcome(step({ status: "skipped", started_at: null }), condition, time)).toMatch(/^Skipped: the run did not come this way/);
    expect(stepOutcome(step({ status: "pending", started_at: null }), condition, time)).toBe("Not started yet.");
  });

  it("leaves a step with attempts to the attempts table", () => {
    const tried = step({ type: "call_webhook", attempts: [{ started_at: "2026-03-01T12:00:00.000Z", finished_at: "2026-03-01T12:00:01.000Z", error: null }] });
    expect(stepOutcome(tried, wait, time)).toBeNull();
  });
});

describe("parseHeaders", () => {
  it("reads From, To, Cc, Reply-To, Subject and Date of a message the worker built, with a long non-ASCII subject", () => {
    const subject = `Größe 42 ist fast ausverkauft — ${"nachbestellen ".repeat(8)}bitte`;
    const raw = buildMime({
      from: "workflows@example.com",
      to: ["a@example.com", "b@example.com"],
      cc: ["c@example.com"],
      replyTo: "buyer@example.com",
      subject,
      messageId: "<abc@example.com>",
      date: new Date("2026-03-01T12:00:00Z"),
      text: "plain ✓",
    });
    const h = parseHeaders(raw);
    expect(h.from).toBe("workflows@example.com");
    expect(h.to).toBe("a@example.com, b@example.com");
    expect(h.cc).toBe("c@example.com");
    expect(h.replyTo).toBe("buyer@example.com");
    expect(h.subject).toBe(subject);
    expect(new Date(h.date).toISOString()).toBe("2026-03-01T12:00:00.000Z");
  });

  it("decodes B and Q encoded words and leaves plain text alone", () => {
    expect(decodeWords("=?UTF-8?B?R3LDtsOfZQ==?= 42")).toBe("Größe 42");
    expect(decodeWords("=?UTF-8?Q?Gr=C3=B6=C3=9Fe_42?=")).toBe("Größe 42");
    expect(decodeWords("=?UTF-8?B?R3LDtg==?= =?UTF-8?B?w59l?=")).toBe("Größe");
    expect(decodeWords("Low stock")).toBe("Low stock");
  });

  it("keeps a mailbox's name and shows a bare mailbox as its address", () => {
    expect(parseHeaders("From: Shop Team <team@example.com>\r\nTo: <a@example.com>, Bob <b@example.com>\r\n\r\n")).toMatchObject({
      from: "Shop Team <team@example.com>",
      to: "a@example.com, Bob <b@example.com>",
    });
  });

  it("reads only the header block, and a folded header as one line", () => {
    const h = parseHeaders("Subject: Low\r\n stock\r\nTo: a@example.com\r\n\r\nSubject: not a header");
    expect(h.subject).toBe("Low stock");
    expect(h.to).toBe("a@example.com");
    expect(h.cc).toBe("");
  });
});
