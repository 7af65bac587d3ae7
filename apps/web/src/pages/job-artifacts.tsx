// What the job wrote to $SWITCHYARD_OUTPUT_DIR, listed again when its phase changes (a job writes its model at the
// end), each downloadable: ReadArtifact's stream gathered into a Blob, since a plain link could not carry the token.
import type { Artifact, Job } from "@switchyard/api";
import { useCallback, useEffect, useState } from "react";
import { errorText } from "../api.js";
import { bytesText, saveBlob } from "../components/download.js";
import { shortTime, timestampMs } from "../components/job-text.js";
import { useSession } from "../session.js";

/** The largest artifact the page downloads (it is held in memory until saved). */
const MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024;

export function JobArtifacts({ job }: { job: Job }) {
  const { api } = useSession();
  const name = job.metadata?.name ?? "";
  const team = job.metadata?.team ?? "";
  const phase = job.status?.phase ?? "";
  const [artifacts, setArtifacts] = useState<Artifact[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [downloading, setDownloading] = useState<string | undefined>();

  const list = useCallback(
    async (signal?: AbortSignal) => {
      try {
        const r = await api.jobs.listArtifacts({ name, team }, { signal });
        setArtifacts(r.artifacts);
        setError(undefined);
      } catch (err) {
        if (!signal?.aborted) setError(errorText(err));
      }
    },
    [api, name, team],
  );

  useEffect(() => {
    const ac = new AbortController();
    void list(ac.signal);
    return () => ac.abort();
  }, [list, phase]);

  // A download is assembled in the tab's memory (the stream needs the token, which a plain link cannot carry): files
  // larger than this are left to the CLI, which writes them to disk as they come.
  async function download(a: Artifact) {
    setDownloading(a.path);
    setError(undefined);
    try {
      const parts: Uint8Array<ArrayBuffer>[] = [];
      for await (const chunk of api.jobs.readArtifact({ name, team, path: a.path })) parts.push(chunk.data as Uint8Array<ArrayBuffer>);
      saveBlob(new Blob(parts), a.path.split("/").pop() || "artifact");
    } catch (err) {
      setError(`${a.path}: ${errorText(err)}`);
    } finally {
      setDownloading(undefined);
    }
  }

  return (
    <section aria-labelledby="artifacts-title">
      <h2 id="artifacts-title">Artifacts</h2>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {artifacts === undefined ? (
        error ? null : <p className="muted">Loading artifacts…</p>
      ) : artifacts.length === 0 ? (
        <p className="muted">None yet: a job's artifacts are the files it writes to $SWITCHYARD_OUTPUT_DIR.</p>
      ) : (
        <div className="table-scroll">
          <table className="artifacts">
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Size</th>
                <th scope="col">Modified</th>
                <th scope="col">Download</th>
              </tr>
            </thead>
            <tbody>
              {artifacts.map((a) => (
                <tr key={a.path}>
                  <th scope="row">
                    <code>{a.path}</code>
                  </th>
                  <td>{bytesText(Number(a.sizeBytes))}</td>
                  <td>{shortTime(timestampMs(a.modified))}</td>
                  <td>
                    {a.symlink ? (
                      <span className="muted">a link: not served</span>
                    ) : Number(a.sizeBytes) > MAX_DOWNLOAD_BYTES ? (
                      <span className="muted">
                        too large for the browser: <code>switchyard artifacts {name} --download DIR</code>
                      </span>
                    ) : (
                      <button type="button" onClick={() => void download(a)} disabled={downloading !== undefined} aria-label={`${downloading === a.path ? "Downloading" : "Download"} ${a.path}`}>
                        {downloading === a.path ? "Downloading…" : "Download"}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <button type="button" onClick={() => void list()}>
        Refresh the list
      </button>
    </section>
  );
}
