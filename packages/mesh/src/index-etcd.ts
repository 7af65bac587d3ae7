// @switchyard/mesh/etcd: the registry on etcd. `openRegistry("etcd://…")` loads it by itself; import it to build one
// directly. etcd3 (with its own gRPC stack) loads only when a registry is created.
export { createEtcdRegistry, etcdHosts } from "./registry-etcd.js";
export type { EtcdRegistryOptions } from "./registry-etcd.js";
