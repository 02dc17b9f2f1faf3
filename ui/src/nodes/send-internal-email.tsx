import { count } from "../lib/util";
import { MessageFields, SentEmailView } from "./send-email";
import type { NodeFormProps, NodeUi } from "./types";

function InternalEmailForm({ b }: NodeFormProps) {
  return (
    <>
      <p class="hint">
        Goes to the team: every address of the <code>INTERNAL_EMAILS</code> setting, from <code>EMAIL_FROM</code>. The step fails when the setting is empty.
      </p>
      <MessageFields b={b} />
    </>
  );
}

export const sendInternalEmail: NodeUi<"send_internal_email"> = {
  label: "Send internal email",
  hint: "Tell the team (INTERNAL_EMAILS), e.g. about a high-value subscriber",
  idBase: "team",
  outputs: ["message_id", "to", "subject"],
  colour: "#a0522d",
  action: true,
  defaultConfig: () => ({ subject: "", format: "text", body: "" }),
  summary: (c) => `To the team: ${c.subject || "(no subject)"}`,
  Form: InternalEmailForm,
  RunDetail: SentEmailView,
  counters: [{ key: "internal_emails_sent", text: (n) => `${count(n, "internal email")} sent`, short: (n) => count(n, "internal email") }],
};
