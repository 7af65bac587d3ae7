import { Link } from "wouter";

/**
 * The one not-found page: for a job (or anything) that does not exist and for one the caller may not see, alike —
 * the platform answers NOT_FOUND for both, and this page says nothing more than that.
 */
export function NotFoundPage({ what }: { what: string }) {
  return (
    <section aria-labelledby="nf-title">
      <h1 id="nf-title">Not found</h1>
      <p>
        No such {what}, or not one you can see. <Link href="/jobs">Back to jobs</Link>
      </p>
    </section>
  );
}
