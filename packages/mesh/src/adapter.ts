import { create, fromBinary, toBinary, type DescMethod, type DescService } from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";

/** The gRPC path of a method: `/package.Service/Method`. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/**
 * Turns a protobuf-es service descriptor into a grpc-js service definition: the one adapter between the two worlds.
 * Requests and responses stay protobuf-es messages; grpc-js only sees bytes.
 */
export function toGrpcServiceDefinition(service: DescService): ServiceDefinition {
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    if (method.methodKind !== "unary" && method.methodKind !== "server_streaming") {
      throw new Error(`${methodPath(method)}: only unary and server-streaming methods are supported by the mesh`);
    }
    def[method.localName] = {
      path: methodPath(method),
      requestStream: false,
      responseStream: method.methodKind === "server_streaming",
      requestSerialize: (m: unknown) => Buffer.from(toBinary(method.input, create(method.input, m as never))),
      requestDeserialize: (b: Buffer) => fromBinary(method.input, b),
      responseSerialize: (m: unknown) => Buffer.from(toBinary(method.output, create(method.output, m as never))),
      responseDeserialize: (b: Buffer) => fromBinary(method.output, b),
      originalName: method.name,
    };
  }
  return def as ServiceDefinition;
}
