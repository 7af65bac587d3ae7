import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fromLocalPeer } from "./server.js";

// In istio mode the sidecar's x-forwarded-client-cert is believed only from a local peer: a caller from elsewhere that
// sends the header would otherwise name any identity it likes.
describe("istio mode: whose x-forwarded-client-cert is believed", () => {
  it("believes loopback and Unix-socket peers (where a sidecar connects from)", () => {
    for (const p of ["ipv4:127.0.0.6:41234", "127.0.0.1:80", "ipv6:[::1]:5000", "ipv6:[::ffff:127.0.0.6]:5000", "unix:/run/x.sock"]) assert.equal(fromLocalPeer(p), true, p);
  });
  it("believes no other peer", () => {
    for (const p of ["ipv4:10.0.0.7:41234", "ipv4:128.0.0.1:1", "ipv6:[fe80::1]:5000", "ipv6:[::ffff:10.1.2.3]:1", ""]) assert.equal(fromLocalPeer(p), false, p);
  });
});
