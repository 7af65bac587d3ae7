// The mesh policies in force: the config center's "mesh" documents (DestinationRule, VirtualService,
// AuthorizationPolicy, RateLimitPolicy, BulkheadPolicy, … as `switchyard mesh apply` stored them) with their YAML, and
// the revision each service's mesh runtime has applied (switchyard_mesh_policy_revision), to spot one that lags.
import type { ListDocumentsResponse } from "@switchyard/api";
import type { Exposition } from "./mesh-metrics.js";
import { perService } from "./mesh-stats.js";

export function PoliciesSection({ docs, exposition }: { docs: ListDocumentsResponse | { error: string }; exposition: Exposition }) {
  const revisions = perService(exposition, "switchyard_mesh_policy_revision");
  const current = "error" in docs ? undefined : docs.revision;
  return (
    <section aria-labelledby="policies-title">
      <h2 id="policies-title">Policies</h2>
      {"error" in docs ? (
        <p role="alert" className="error">
          Could not read the mesh policies: {docs.error}
        </p>
      ) : docs.documents.length === 0 ? (
        <p className="dash-empty">
          No mesh policies are stored: Istio's defaults apply (round robin, no retries, no breaker). Apply some with <code>switchyard mesh apply -f policies.yaml</code>.
        </p>
      ) : (
        <>
          <p>
            Revision {String(docs.revision)} of the config center, {docs.documents.length} {docs.documents.length === 1 ? "document" : "documents"} in the <code>mesh</code> namespace.
          </p>
          <div className="dash-scroll">
            <table className="mesh-docs">
              <caption className="visually-hidden">Mesh policy documents</caption>
              <thead>
                <tr>
                  <th scope="col">Kind</th>
                  <th scope="col">Name</th>
                  <th scope="col" className="num">
                    Version
                  </th>
                  <th scope="col">Updated</th>
                  <th scope="col">By</th>
                  <th scope="col">YAML</th>
                </tr>
              </thead>
              <tbody>
                {docs.documents.map((d) => (
                  <tr key={`${d.kind}/${d.name}`}>
                    <td>{d.kind}</td>
                    <th scope="row">{d.name}</th>
                    <td className="num">{String(d.version)}</td>
                    <td>{d.updatedAtMs > 0n ? new Date(Number(d.updatedAtMs)).toLocaleString() : "—"}</td>
                    <td>{d.updatedBy || "—"}</td>
                    <td>
                      <details>
                        <summary>
                          Show <span className="visually-hidden">{`${d.kind} ${d.name}`}</span>
                        </summary>
                        <pre className="dash-yaml">{d.content.replace(/^---\n/, "").trimEnd()}</pre>
                      </details>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <h3>Revision applied by each service</h3>
      {revisions.length === 0 ? (
        <p className="help">No service reports a policy revision.</p>
      ) : (
        <div className="dash-scroll">
          <table className="mesh-revisions">
            <caption className="visually-hidden">The mesh policy revision each service has applied</caption>
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col" className="num">
                  Revision
                </th>
                <th scope="col">Up to date</th>
              </tr>
            </thead>
            <tbody>
              {revisions.map((r) => {
                const none = r.value === 0;
                const behind = current !== undefined && !none && BigInt(Math.round(r.value)) < current;
                return (
                  <tr key={r.service}>
                    <th scope="row">{r.service}</th>
                    <td className="num">{none ? "—" : r.value}</td>
                    <td className={behind ? "state state-warn" : none ? "help" : "state state-good"}>
                      {none ? "takes no mesh policies (none applied)" : behind ? `behind: the config center is at revision ${String(current)}` : current === undefined ? "unknown" : "yes"}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
