import { createModel, signal, useModel } from "@preact/signals";
import { api, describeError } from "../api";
import { ChipsField } from "../components/common/collection-fields";
import { CheckboxField, SelectField, TextField } from "../components/common/fields";
import { Dialog, ErrorNote, Loading } from "../components/common/ui";
import { count, downloadText, formatDateTime } from "../lib/util";
import { parseHeaders, type MailHeaders } from "../lib/mail-headers";
import { Fragment } from "preact";
import { emailProblem } from "../lib/email-address";
import { TrackedLinksView } from "./tracked-links";
import type { NodeFormProps, NodeRunDetailProps, NodeUi } from "./types";

function EmailForm({ b }: NodeFormProps) {
  return (
    <>
      <ChipsField b={b} path={["config", "to"]} label="To" vars placeholder="e.g. planner@example.com" validate={emailProblem} />
      <ChipsField b={b} path={["config", "cc"]} label="Cc" vars placeholder="e.g. buyer@example.com" validate={emailProblem} />
      <ChipsField b={b} path={["config", "bcc"]} label="Bcc" vars placeholder="e.g. archive@example.com" validate={emailProblem} />
      <div class="grid-2">
        <TextField b={b} path={["config", "from"]} label="From (optional)" optional placeholder="Default sender" />
        <TextField b={b} path={["config", "reply_to"]} label="Reply to (optional)" optional placeholder="e.g. planning@example.com" />
      </div>
      <MessageFields b={b} />
      <CheckboxField
        b={b}
        path={["config", "track_links"]}
        label="Track links"
        hint="Links to http(s) pages go through /l/… : a click is counted (GET /api/runs/{id}/clicks) and moves the trigger's subscription from delivered to engaged."
      />
    </>
  );
}

/** Subject, format and body: the message fields every email node has. */
export function MessageFields({ b }: Pick<NodeFormProps, "b">) {
  return (
    <>
      <TextField b={b} path={["config", "subject"]} label="Subject" vars />
      <SelectField
        b={b}
        path={["config", "format"]}
        label="Format"
        value={(b.get(["config", "format"]) as string | undefined) ?? "text"}
        options={[
          { value: "text", label: "Plain text" },
          { value: "markdown", label: "Markdown (sent as HTML with a text version)" },
          { value: "html", label: "HTML" },
        ]}
      />
      <TextField b={b} path={["config", "body"]} label="Body" multiline rows={8} vars hint="Values filled into HTML or markdown are escaped." />
    </>
  );
}

/** The email a step sent: its rendered HTML (fetched once, on opening) and the raw message. */
const SentEmail = createModel((runId: string, nodeId: string) => {
  const data = { html: signal<string | null>(null), headers: signal<MailHeaders | null>(null) };
  const view = { open: signal(false), loading: signal(false), error: signal<string | null>(null) };
  return {
    data,
    view,
    async open() {
      view.open.value = true;
      view.error.value = null;
      if (data.html.peek() !== null) return;
      view.loading.value = true;
      try {
        // The body as HTML, and the raw message for the headers a reader checks first.
        const [html, raw] = await Promise.all([api.stepMessage(runId, nodeId, "html"), api.stepMessage(runId, nodeId, "raw")]);
        data.headers.value = parseHeaders(raw);
        data.html.value = html;
      } catch (err) {
        view.error.value = `Could not open the email: ${describeError(err)}`;
      } finally {
        view.loading.value = false;
      }
    },
    close() {
      view.open.value = false;
    },
    async download() {
      view.error.value = null;
      try {
        downloadText(`${runId.slice(0, 8)}-${nodeId}.eml`, await api.stepMessage(runId, nodeId, "raw"), "message/rfc822");
      } catch (err) {
        view.error.value = `Could not download the email: ${describeError(err)}`;
      }
    },
  };
});

/** send_email's output names how many links it tracked (track_links). */
const hasTrackedLinks = (output: unknown) => typeof output === "object" && output !== null && "tracked_links" in output && Number(output.tracked_links) > 0;

/** The run view of an email step: the sent message, rendered or raw. */
export function SentEmailView({ run, step }: NodeRunDetailProps) {
  const m = useModel(() => new SentEmail(run.id, step.node_id));
  if (step.status !== "succeeded") return null;
  const html = m.data.html.value;
  const headers = m.data.headers.value;
  const name = run.definition.nodes.find((n) => n.id === step.node_id)?.name || step.node_id;
  return (
    <>
      <div class="row-actions">
        <button type="button" class="btn btn-small" onClick={() => void m.open()}>
          Open the sent email
        </button>
        <button type="button" class="btn btn-small" onClick={() => void m.download()}>
          Download .eml
        </button>
      </div>
      {!m.view.open.value && <ErrorNote error={m.view.error.value} />}
      <Dialog open={m.view.open.value} title={`Email sent by “${name}”`} onClose={() => m.close()} wide>
        {m.view.loading.value && <Loading label="Loading the email…" />}
        <ErrorNote error={m.view.error.value} />
        {headers && (
          <dl class="mail-headers" aria-label="Email headers">
            {(
              [
                ["From", headers.from],
                ["To", headers.to],
                ["Cc", headers.cc],
                ["Reply to", headers.replyTo],
                ["Subject", headers.subject],
                ["Date", Number.isNaN(Date.parse(headers.date)) ? headers.date : formatDateTime(new Date(headers.date).toISOString())],
              ] as const
            )
              .filter(([, v]) => v)
              .map(([k, v]) => (
                <Fragment key={k}>
                  <dt>{k}</dt>
                  <dd class={k === "Subject" ? "mail-subject" : undefined}>{v}</dd>
                </Fragment>
              ))}
          </dl>
        )}
        {html !== null && <iframe class="email-frame" title={`Rendered email from step ${name}`} sandbox="" srcdoc={html} />}
      </Dialog>
      {hasTrackedLinks(step.output) && <TrackedLinksView runId={run.id} nodeId={step.node_id} />}
    </>
  );
}

export const sendEmail: NodeUi<"send_email"> = {
  label: "Send email",
  hint: "Email people, with values from the run",
  idBase: "email",
  outputs: ["message_id", "to", "subject"],
  colour: "#c06414",
  action: true,
  defaultConfig: () => ({ to: [], subject: "", format: "text", body: "" }),
  summary: (c) => `To ${(c.to ?? []).join(", ") || "(nobody yet)"}: ${c.subject || "(no subject)"}`,
  Form: EmailForm,
  RunDetail: SentEmailView,
  counters: [{ key: "emails_sent", text: (n) => `${count(n, "email")} sent`, short: (n) => count(n, "email") }],
};
