import type { HealthCheckRequest, HealthCheckResponse } from "@switchyard/api";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CallContext, ServiceImpl } from "./types.js";
import type { HealthCheckResponseSchema } from "@switchyard/api";

/** The serving status of a server ("" = the whole server) and of each of its services, with watchers. */
export class HealthState {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly listeners = new Set<() => void>();
  private ended = false;

  /** Ends every Watch stream (after its last status went out), so a stopping server does not wait on them. */
  end(): void {
    this.ended = true;
    for (const l of this.listeners) l();
  }

  get isEnded(): boolean {
    return this.ended;
  }

  set(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const l of this.listeners) l();
  }

  /** Marks the server and all its services. */
  setAll(status: ServingStatus): void {
    for (const k of [...this.statuses.keys(), ""]) this.set(k, status);
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  onChange(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

/** grpc.health.v1.Health over a HealthState: Check and Watch as the standard specifies. */
export function healthService(state: HealthState): ServiceImpl<typeof Health> {
  return {
    async check(req: HealthCheckRequest): Promise<MessageInitShape<typeof HealthCheckResponseSchema>> {
      const s = state.get(req.service);
      if (s === undefined) throw new SwitchyardError(Code.NotFound, `unknown service "${req.service}"`);
      return { status: s };
    },
    async *watch(req: HealthCheckRequest, ctx: CallContext): AsyncIterable<MessageInitShape<typeof HealthCheckResponseSchema>> {
      let wake: (() => void) | undefined;
      const off = state.onChange(() => wake?.());
      const onAbort = () => wake?.();
      ctx.signal.addEventListener("abort", onAbort);
      try {
        let last: ServingStatus | undefined;
        while (!ctx.signal.aborted) {
          const s = state.get(req.service) ?? ServingStatus.SERVICE_UNKNOWN;
          if (s !== last) {
            last = s;
            yield { status: s } satisfies Partial<HealthCheckResponse>;
          }
          if (state.isEnded) return;
          await new Promise<void>((r) => (wake = r));
        }
      } finally {
        off();
        ctx.signal.removeEventListener("abort", onAbort);
      }
    },
  };
}

export { ServingStatus };
