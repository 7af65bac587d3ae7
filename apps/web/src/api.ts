// The dashboard's one way to the platform: Connect (binary protobuf over fetch) to the gateway that served this page,
// with the user's token on every call. The token lives in this module's closure only (session.tsx says why).
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ConfigCenter, Experiments, Jobs, Platform, Queues, Serving } from "@switchyard/api";

export interface Api {
  readonly jobs: Client<typeof Jobs>;
  readonly queues: Client<typeof Queues>;
  readonly platform: Client<typeof Platform>;
  readonly serving: Client<typeof Serving>;
  readonly experiments: Client<typeof Experiments>;
  readonly config: Client<typeof ConfigCenter>;
  /** A plain GET with the token (Prometheus text at /metrics, a REST download). */
  get(path: string, accept?: string): Promise<Response>;
}

/** The clients for one signed-in user. */
export function createApi(token: string, onUnauthenticated: () => void): Api {
  const auth: Interceptor = (next) => async (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    try {
      return await next(req);
    } catch (err) {
      if (ConnectError.from(err).code === Code.Unauthenticated) onUnauthenticated();
      throw err;
    }
  };
  const transport = createConnectTransport({ baseUrl: window.location.origin, useBinaryFormat: true, interceptors: [auth] });
  const client = <S extends DescService>(s: S) => createClient(s, transport);
  return {
    jobs: client(Jobs),
    queues: client(Queues),
    platform: client(Platform),
    serving: client(Serving),
    experiments: client(Experiments),
    config: client(ConfigCenter),
    async get(path, accept = "*/*") {
      const res = await fetch(path, { headers: { authorization: `Bearer ${token}`, accept }, cache: "no-store" });
      if (res.status === 401) onUnauthenticated();
      if (!res.ok) throw new ConnectError(`${path}: ${res.status} ${(await res.text()).slice(0, 300)}`, res.status === 403 ? Code.PermissionDenied : res.status === 404 ? Code.NotFound : Code.Unknown);
      return res;
    },
  };
}

/** The platform's message for an error, as a user should read it. */
export function errorText(err: unknown): string {
  const e = ConnectError.from(err);
  return e.rawMessage || e.message;
}

/** NOT_FOUND: the one answer for what does not exist and for what the caller may not see. */
export function isNotFound(err: unknown): boolean {
  return ConnectError.from(err).code === Code.NotFound;
}

/** A server stream cut by the page (navigation, unmount): not an error to show. */
export function isAborted(err: unknown): boolean {
  return ConnectError.from(err).code === Code.Canceled;
}
