// The shell: a skip link, the navigation, and one page per route. Pages other than the jobs list load on first visit
// (their code, and uPlot's, is not in the first bundle). Signed out, every route shows the login page and returns to
// the route asked for after.
import { lazy, Suspense, useEffect, useRef, type ReactNode } from "react";
import { Link, Route, Switch, useLocation } from "wouter";
import { LoginPage } from "./pages/login.js";
import { JobsPage } from "./pages/jobs.js";
import { NotFoundPage } from "./pages/not-found.js";
import { PageBoundary } from "./page-boundary.js";
import { useSessionState } from "./session.js";

const JobPage = lazy(() => import("./pages/job.js").then((m) => ({ default: m.JobPage })));
const QueuesPage = lazy(() => import("./pages/queues.js").then((m) => ({ default: m.QueuesPage })));
const MeshPage = lazy(() => import("./pages/mesh.js").then((m) => ({ default: m.MeshPage })));
const ServingPage = lazy(() => import("./pages/serving.js").then((m) => ({ default: m.ServingPage })));
const ExperimentsPage = lazy(() => import("./pages/experiments.js").then((m) => ({ default: m.ExperimentsPage })));

const NAV: readonly { href: string; label: string }[] = [
  { href: "/jobs", label: "Jobs" },
  { href: "/queues", label: "Queues & GPUs" },
  { href: "/mesh", label: "Mesh" },
  { href: "/serving", label: "Serving" },
  { href: "/experiments", label: "Experiments" },
];

export function App() {
  const { session } = useSessionState();
  if (!session) return <LoginPage />;
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Switchyard</span>
        <Nav />
        <span className="who">
          {session.identity.user} · {session.identity.role}
          {session.identity.teams.length > 0 ? ` · ${session.identity.teams.join(", ")}` : ""}
          <button type="button" onClick={session.signOut}>
            Sign out
          </button>
        </span>
      </header>
      <Main>
        <Boundary>
          <Suspense fallback={<p role="status">Loading…</p>}>
            <Switch>
              <Route path="/">{() => <JobsPage />}</Route>
              <Route path="/jobs">{() => <JobsPage />}</Route>
              <Route path="/jobs/:team/:name">{(p) => <JobPage team={decoded(p.team)} name={decoded(p.name)} />}</Route>
              <Route path="/queues">{() => <QueuesPage />}</Route>
              <Route path="/mesh">{() => <MeshPage />}</Route>
              <Route path="/serving">{() => <ServingPage />}</Route>
              <Route path="/experiments">{() => <ExperimentsPage />}</Route>
              <Route>{() => <NotFoundPage what="page" />}</Route>
            </Switch>
          </Suspense>
        </Boundary>
      </Main>
    </>
  );
}

/** A path segment as the job's name or team (wouter has run decodeURI; a bad escape is kept as typed, and not found). */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function Boundary({ children }: { children: ReactNode }) {
  const [location] = useLocation();
  return <PageBoundary resetKey={location}>{children}</PageBoundary>;
}

function Nav() {
  const [location] = useLocation();
  return (
    <nav aria-label="Main">
      <ul>
        {NAV.map((n) => {
          const current = location === n.href || location.startsWith(`${n.href}/`) || (n.href === "/jobs" && location === "/");
          return (
            <li key={n.href}>
              <Link href={n.href} aria-current={current ? "page" : undefined}>
                {n.label}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}

/** The page's main region; focus moves to it on navigation so keyboard and screen-reader users land on the new page. */
function Main({ children }: { children: ReactNode }) {
  const [location] = useLocation();
  const ref = useRef<HTMLElement>(null);
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    ref.current?.focus();
  }, [location]);
  return (
    <main id="main" ref={ref} tabIndex={-1}>
      {children}
    </main>
  );
}
