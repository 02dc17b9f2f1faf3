import { ChipsField } from "../components/common/collection-fields";
import { GroupIssues, NumberField, SelectField, TextField } from "../components/common/fields";
import { Link, Notice } from "../components/common/ui";
import { formatDateTime, relativeTime } from "../lib/util";
import { emailProblem } from "../lib/email-address";
import { SentEmailView } from "./send-email";
import type { NodeFormProps, NodeRunDetailProps, NodeUi } from "./types";

function ApprovalForm({ b }: NodeFormProps) {
  return (
    <>
      <TextField b={b} path={["config", "title"]} label="Title" vars placeholder="e.g. Restock {{trigger.data.sku}}?" />
      <TextField b={b} path={["config", "message"]} label="Message" multiline rows={4} vars hint="What the approvers should know. The approval page also shows the plan a step before made." />
      <ChipsField b={b} path={["config", "approvers"]} label="Approvers" vars placeholder="e.g. buyer@example.com" validate={emailProblem} hint="Each gets an email with a link to the approval. Press Enter or comma to add." />
      <fieldset class="group">
        <legend>Decide within</legend>
        <GroupIssues b={b} path={["config", "timeout"]} />
        <div class="grid-3">
          <NumberField b={b} path={["config", "timeout", "days"]} label="Days" min={0} integer={false} />
          <NumberField b={b} path={["config", "timeout", "hours"]} label="Hours" min={0} integer={false} />
          <NumberField b={b} path={["config", "timeout", "minutes"]} label="Minutes" min={0} integer={false} />
        </div>
        <p class="hint">The run waits, costing nothing, until someone decides or this time is up.</p>
      </fieldset>
      <SelectField
        b={b}
        path={["config", "on_timeout"]}
        label="Without a decision"
        value={(b.get(["config", "on_timeout"]) as string | undefined) ?? "reject"}
        options={[
          { value: "reject", label: "Count it as rejected (go to “If rejected”)" },
          { value: "approve", label: "Count it as approved (go to “If approved”)" },
        ]}
      />
    </>
  );
}

interface ApprovalOutput {
  approvers?: string[];
  timeout_at?: string;
  decision?: "approve" | "reject" | null;
  decided_by?: string | null;
  decided_at?: string | null;
  comment?: string | null;
  timed_out?: boolean;
}

/** The run view of an approval: waiting (with the page approvers open) or who decided, when and why; and the email they got. */
function ApprovalRunView({ run, step }: NodeRunDetailProps) {
  const out = (step.output ?? {}) as ApprovalOutput;
  const page = `/approvals/${encodeURIComponent(run.id)}/${encodeURIComponent(step.node_id)}`;
  const waiting = step.status === "running" && out.timeout_at !== undefined && !out.decision;
  return (
    <>
      {waiting && (
        <Notice kind="info">
          Waiting for a decision from {(out.approvers ?? []).join(", ")} until {formatDateTime(out.timeout_at)} ({relativeTime(out.timeout_at)}). <Link href={page}>Open the approval</Link>
        </Notice>
      )}
      {out.decision && (
        <p class="approval-verdict" data-decision={out.decision}>
          <strong>{out.decision === "approve" ? "Approved" : "Rejected"}</strong>{" "}
          {out.timed_out ? "at the deadline, as nobody decided" : `by ${out.decided_by ?? "someone"}`} on {formatDateTime(out.decided_at)}
          {out.comment ? <>: “{out.comment}”</> : "."} <Link href={page}>Open the approval</Link>
        </p>
      )}
      {out.timeout_at !== undefined && <SentEmailView run={run} step={{ ...step, status: "succeeded" }} />}
    </>
  );
}

export const approval: NodeUi<"approval"> = {
  label: "Approval",
  hint: "Ask people to approve or reject, then branch",
  idBase: "approval",
  outputs: ["decision", "decided_by", "decided_at", "comment", "timed_out"],
  colour: "#7c3aed",
  action: true,
  branches: true,
  branchLabels: { then: "If approved", else: "If rejected" },
  defaultConfig: () => ({ title: "", message: "", approvers: [], timeout: { days: 2 }, on_timeout: "reject" }),
  summary(c) {
    const who = (c.approvers ?? []).join(", ") || "(nobody yet)";
    return `Ask ${who}: ${c.title || "(no title)"}`;
  },
  Form: ApprovalForm,
  RunDetail: ApprovalRunView,
};
