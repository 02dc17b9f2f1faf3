import type { ComponentChildren } from "preact";
import { useRef } from "preact/hooks";
import { match, router } from "../../models/router";
import { session } from "../../models/session";
import { ApprovalPage } from "./approvals/approval-page";
import { ApprovalsPage } from "./approvals/approvals-page";
import { BackInStockPage } from "./back-in-stock/back-in-stock-page";
import { BuilderPage } from "./builder/builder-page";
import { Dialog, Link } from "./common/ui";
import { EventsPage } from "./events/events-page";
import { PlanPage, PlansPage } from "./plans/plans-pages";
import { RunPage } from "./runs/run-page";
import { RunsPage } from "./runs/runs-page";
import { WorkflowsPage } from "./workflows/workflows-page";

function TokenPrompt() {
  const input = useRef<HTMLInputElement>(null);
  const reason = session.prompt.value;
  return (
    <Dialog open={reason !== null} title="Sign in" required onClose={() => input.current?.focus()}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void session.submit(input.current?.value ?? "");
        }}
      >
        <p>{reason}</p>
        <label for="api-token">API token</label>
        <input ref={input} id="api-token" type="password" autoComplete="off" aria-describedby="api-token-hint" required />
        <p class="hint" id="api-token-hint">
          One of the tokens in API_TOKENS (locally: dev-token). It is kept in this browser only.
        </p>
        {session.error.value && (
          <p class="note note-error" role="alert">
            {session.error.value}
          </p>
        )}
        <div class="row-actions end">
          <button type="submit" class="btn btn-primary" disabled={session.checking.value}>
            {session.checking.value ? "Checking…" : "Continue"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function NavLink({ href, label, active }: { href: string; label: string; active: boolean }) {
  return (
    <Link href={href} class={active ? "nav-link active" : "nav-link"} aria-current={active ? "page" : undefined}>
      {label}
    </Link>
  );
}

function Shell({ children, section }: { children: ComponentChildren; section: string }) {
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="app-bar">
        <Link href="/" class="brand">
          Edge workflows
        </Link>
        <nav aria-label="Main">
          <NavLink href="/" label="Workflows" active={section === "workflows"} />
          <NavLink href="/runs" label="Runs" active={section === "runs"} />
          <NavLink href="/events" label="Events" active={section === "events"} />
          <NavLink href="/approvals" label="Approvals" active={section === "approvals"} />
          <NavLink href="/plans" label="Plans" active={section === "plans"} />
          <NavLink href="/back-in-stock" label="Back in stock" active={section === "back-in-stock"} />
          <a class="nav-link" href="/api/docs" target="_blank" rel="noreferrer">
            API docs
          </a>
        </nav>
        {session.token.value && (
          <button type="button" class="btn btn-small btn-ghost" onClick={() => session.signOut()}>
            Sign out
          </button>
        )}
      </header>
      {children}
    </>
  );
}

function NotFound() {
  return (
    <main class="page" id="main">
      <h1>Page not found</h1>
      <p>
        Nothing lives at <code>{router.location.value.path}</code>. <Link href="/">Go to the workflows</Link>.
      </p>
    </main>
  );
}

function Routes() {
  const path = router.location.value.path.replace(/\/+$/, "") || "/";
  let p: Record<string, string> | null;
  if (path === "/" || path === "/workflows") return <Shell section="workflows"><WorkflowsPage /></Shell>;
  if (path === "/workflows/new") return <BuilderPage key="new" id={null} />;
  if ((p = match("/workflows/:id", path))) return <BuilderPage key={p.id} id={p.id!} />;
  if (path === "/runs") return <Shell section="runs"><RunsPage /></Shell>;
  if ((p = match("/runs/:id", path))) return <Shell section="runs"><RunPage key={p.id} id={p.id!} /></Shell>;
  if (path === "/events") return <Shell section="events"><EventsPage /></Shell>;
  if (path === "/approvals") return <Shell section="approvals"><ApprovalsPage /></Shell>;
  if ((p = match("/approvals/:run/:node", path))) return <Shell section="approvals"><ApprovalPage key={`${p.run}/${p.node}`} runId={p.run!} nodeId={p.node!} /></Shell>;
  if (path === "/plans") return <Shell section="plans"><PlansPage /></Shell>;
  if ((p = match("/plans/:id", path))) return <Shell section="plans"><PlanPage key={p.id} id={p.id!} /></Shell>;
  if (path === "/back-in-stock") return <Shell section="back-in-stock"><BackInStockPage /></Shell>;
  return <Shell section=""><NotFound /></Shell>;
}

export function App() {
  // Nothing is asked of the API before a token is known; the prompt covers the page until then.
  return (
    <>
      {session.token.value ? <Routes /> : <main class="page" id="main" aria-hidden="true" />}
      <TokenPrompt />
    </>
  );
}
