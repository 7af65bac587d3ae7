/**
 * A job's artifacts: the files its replicas wrote under `$SWITCHYARD_OUTPUT_DIR`. The directory belongs to the job's
 * user, who may put anything there — including symbolic links to the platform's files — so nothing here follows a
 * link: the listing reports links as links (lstat), and a read opens the file without following the last component
 * (O_NOFOLLOW), then checks where the opened file really is (its /proc/self/fd link, which cannot be swapped after
 * the open) before sending a byte.
 */
import { constants, promises as fsp, readlinkSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { Code, SwitchyardError } from "@switchyard/core";

export interface ArtifactEntry {
  path: string;
  sizeBytes: number;
  modifiedMs: number;
  symlink: boolean;
}

/** Every regular file and symbolic link under `dir`, depth-first, without following links. */
export async function listArtifacts(dir: string, limit = 100_000): Promise<ArtifactEntry[]> {
  const out: ArtifactEntry[] = [];
  const walk = async (p: string): Promise<void> => {
    let names: string[];
    try {
      names = await fsp.readdir(p);
    } catch {
      return;
    }
    for (const name of names) {
      if (out.length >= limit) return;
      const full = join(p, name);
      const st = await fsp.lstat(full).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) await walk(full);
      else if (st.isFile() || st.isSymbolicLink()) out.push({ path: relative(dir, full), sizeBytes: st.isFile() ? st.size : 0, modifiedMs: Math.floor(st.mtimeMs), symlink: st.isSymbolicLink() });
    }
  };
  await walk(dir);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * Opens artifact `path` (relative to `dir`) for reading: refuses paths that leave the directory, links anywhere on the
 * way, and anything but a regular file. The caller streams from the returned handle and closes it.
 */
export async function openArtifact(dir: string, path: string, jobName: string): Promise<fsp.FileHandle> {
  const full = resolve(dir, path);
  if (!full.startsWith(dir + sep)) throw new SwitchyardError(Code.InvalidArgument, `path "${path}" leaves the job's output directory`, { details: [{ field: "path", message: "must be relative, inside the output directory" }] });
  const missing = () => new SwitchyardError(Code.NotFound, `job "${jobName}" has no artifact "${path}": list them with \`switchyard artifacts ${jobName}\``);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(full, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOOP") throw linkRefused(path);
    throw missing();
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw missing();
    // Where the open landed, after every directory on the way was resolved: a link in a directory component
    // (out/x -> /) shows here as a real path outside the output directory.
    const real = readlinkSync(`/proc/self/fd/${fh.fd}`);
    const root = await fsp.realpath(dir);
    if (!real.startsWith(root + sep)) throw linkRefused(path);
    return fh;
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** The artifact's bytes in chunks of up to 256 KiB (opened as `openArtifact` opens it); the file is closed at the end. */
export async function* readArtifact(dir: string, path: string, jobName: string): AsyncIterable<Buffer> {
  const fh = await openArtifact(dir, path, jobName);
  try {
    for await (const data of fh.createReadStream({ highWaterMark: 256 * 1024, autoClose: false })) yield data as Buffer;
  } finally {
    await fh.close();
  }
}

function linkRefused(path: string): SwitchyardError {
  return new SwitchyardError(Code.PermissionDenied, `artifact "${path}" is (or lies under) a symbolic link: links in a job's output are listed, never followed; copy the file itself into $SWITCHYARD_OUTPUT_DIR`, {
    details: [{ field: "path", message: "is a symbolic link", hint: "write real files to $SWITCHYARD_OUTPUT_DIR" }],
  });
}
