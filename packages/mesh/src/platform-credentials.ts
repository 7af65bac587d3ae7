import { keyPath, loadOrCreateKey } from "@switchyard/core";
import { createSharedKeyCredentials, type MeshCredentials } from "./credentials.js";

/** The platform's service credential: the shared key in `<data>/secrets/mesh.key` (made at the first start, 0600). */
export function loadPlatformCredentials(dataDir: string): MeshCredentials {
  return createSharedKeyCredentials(loadOrCreateKey(keyPath(dataDir, "mesh")));
}
