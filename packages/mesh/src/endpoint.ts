import * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { HealthCheckRequestSchema, HealthCheckResponseSchema, HealthCheckResponse_ServingStatus as ServingStatus } from "@switchyard/api";
import type { Clock, TimerHandle } from "@switchyard/core";
import type { Pickable } from "./balancer.js";
import type { LocalServer } from "./local-transport.js";
import { newOutlierState, type OutlierHost } from "./policy-outlier.js";

const ConnectivityState = grpc.connectivityState;
const HEALTH_WATCH = "/grpc.health.v1.Health/Watch";

export interface EndpointInit {
  /** Stable identity: the instance id from the registry (or the address for a direct target). */
  key: string;
  address: string;
  labels: Readonly<Record<string, string>>;
  /** A co-hosted server: calls go in memory instead of over a channel. */
  local?: LocalServer;
  channelOptions: grpc.ChannelOptions;
  /** Watch grpc.health.v1 on the endpoint and leave rotation while it says NOT_SERVING. */
  healthCheck: boolean;
  /** The channel's credentials (runtime.channelCredentials: mutual TLS, or plaintext without credentials). */
  credentials: grpc.ChannelCredentials;
  clock: Clock;
  /** Called on every change of what the endpoint can take (connectivity, health). */
  onChange: () => void;
}

/**
 * One instance of a destination: its own grpc-js channel (pick_first: one HTTP/2 connection, reconnecting with
 * backoff), the in-flight count least-request reads, its outlier state, and what it says about its health. The call
 * layer picks among endpoints and calls `client` directly; grpc-js does not balance here.
 */
export class Endpoint implements Pickable, OutlierHost {
  readonly key: string;
  readonly address: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly local: LocalServer | undefined;
  readonly client: grpc.Client | undefined;
  readonly outlier = newOutlierState();
  active = 0;
  /** grpc.health.v1 says SERVING (or the endpoint has no health service). */
  serving = true;
  /** The channel's state: READY, or not yet/no longer. */
  state: grpc.connectivityState = ConnectivityState.IDLE;
  private closed = false;
  private healthCall: grpc.ClientReadableStream<unknown> | undefined;
  private healthRetry: TimerHandle | undefined;
  private wasReady = false;

  constructor(private readonly init: EndpointInit) {
    this.key = init.key;
    this.address = init.address;
    this.labels = init.labels;
    this.local = init.local;
    if (init.local) {
      this.state = ConnectivityState.READY;
      this.client = undefined;
      return;
    }
    this.client = new grpc.Client(init.address, init.credentials, init.channelOptions);
    this.watchConnectivity(this.client.getChannel().getConnectivityState(true));
  }

  /** READY, or a co-hosted server. */
  get ready(): boolean {
    return this.state === ConnectivityState.READY;
  }

  /** Not known to be failing to connect (IDLE and CONNECTING may still work). */
  get reachable(): boolean {
    return this.state !== ConnectivityState.TRANSIENT_FAILURE && this.state !== ConnectivityState.SHUTDOWN;
  }

  /** The health a co-hosted server reports directly; remote endpoints report through their Watch stream. */
  get eligible(): boolean {
    if (this.local) return this.local.health.get("") !== ServingStatus.NOT_SERVING;
    return this.serving;
  }

  private watchConnectivity(current: grpc.connectivityState): void {
    const channel = this.client!.getChannel();
    this.setState(current);
    channel.watchConnectivityState(current, Infinity, () => {
      if (this.closed) return;
      const next = channel.getConnectivityState(false);
      // A dropped connection leaves pick_first IDLE: reconnect now rather than on the next call that picks it.
      if (next === ConnectivityState.IDLE) channel.getConnectivityState(true);
      this.watchConnectivity(next);
    });
  }

  private setState(s: grpc.connectivityState): void {
    if (s === this.state) return;
    this.state = s;
    if (s === ConnectivityState.READY) {
      this.wasReady = true;
      if (this.init.healthCheck) this.watchHealth();
    }
    this.init.onChange();
  }

  /** Follows grpc.health.v1 Watch for the whole server (""); restarts it when the connection comes back. */
  private watchHealth(): void {
    if (this.closed || this.healthCall || !this.client) return;
    const call = this.client.makeServerStreamRequest(
      HEALTH_WATCH,
      (m: unknown) => Buffer.from(toBinary(HealthCheckRequestSchema, m as never)),
      (b: Buffer) => fromBinary(HealthCheckResponseSchema, b),
      { $typeName: "grpc.health.v1.HealthCheckRequest", service: "" },
      new grpc.Metadata(),
      {},
    );
    this.healthCall = call;
    call.on("data", (r: { status: ServingStatus }) => this.setServing(r.status === ServingStatus.SERVING));
    call.on("error", (err: grpc.ServiceError) => {
      this.healthCall = undefined;
      if (this.closed) return;
      // A server without the health service is taken at its word that it serves.
      if (err.code === grpc.status.UNIMPLEMENTED) return this.setServing(true);
      if (err.code === grpc.status.CANCELLED) return;
      // Retry soon; if the connection is down, READY will restart it anyway.
      this.healthRetry = this.init.clock.setTimeout(() => {
        this.healthRetry = undefined;
        if (this.ready) this.watchHealth();
      }, 1000);
    });
    call.on("end", () => {
      if (this.healthCall === call) this.healthCall = undefined;
    });
  }

  private setServing(serving: boolean): void {
    if (serving === this.serving) return;
    this.serving = serving;
    this.init.onChange();
  }

  /** Whether the endpoint has ever been connected (used to tell a dead endpoint from one still starting). */
  get hasBeenReady(): boolean {
    return this.wasReady || this.local !== undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.healthRetry !== undefined) this.init.clock.clearTimeout(this.healthRetry);
    this.healthCall?.cancel();
    this.client?.close();
    this.state = ConnectivityState.SHUTDOWN;
  }
}
