// `@switchyard/mesh/ca`: the certificate authority and the edge's self-signed certificate (pki.ts). A sub-path so
// that only processes that make certificates (control, `switchyard etcd-cert`, tests) load the X.509 library.
export { CertificateAuthority, loadOrCreateCa, selfSignedServerCertificate } from "./pki.js";
