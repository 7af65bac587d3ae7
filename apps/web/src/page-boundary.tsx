import { Component, type ErrorInfo, type ReactNode } from "react";

interface Props {
  /** Changes with the route: a new page gets a fresh try. */
  resetKey: string;
  children: ReactNode;
}

/**
 * A page that throws while rendering, or whose code fails to load (a new build replaced the chunk this tab knew),
 * shows what happened and how to recover, instead of blanking the whole app; the navigation stays usable.
 */
export class PageBoundary extends Component<Props, { error: Error | undefined; key: string }> {
  override state = { error: undefined as Error | undefined, key: this.props.resetKey };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  static getDerivedStateFromProps(props: Props, state: { error: Error | undefined; key: string }) {
    return props.resetKey === state.key ? null : { error: undefined, key: props.resetKey };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error("page failed", error, info.componentStack);
  }

  override render() {
    const { error } = this.state;
    if (error === undefined) return this.props.children;
    const stale = /dynamically imported module|Failed to fetch|Importing a module script failed/i.test(error.message);
    return (
      <section role="alert" aria-labelledby="page-error">
        <h1 id="page-error">This page could not be shown</h1>
        <p>{stale ? "The dashboard was updated since this tab opened: reload the page (you will sign in again)." : error.message}</p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </section>
    );
  }
}
