import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "./errors.js";
import { parseDurationMs, parseSinceMs } from "./durations.js";

describe("durations", () => {
  it("reads what people write, and nothing else", () => {
    assert.deepEqual(["45s", "90m", "12h", "1.5h", "30d", "2w", " 7 d "].map(parseDurationMs), [45_000, 5_400_000, 43_200_000, 5_400_000, 2_592_000_000, 1_209_600_000, 604_800_000]);
    for (const bad of ["", "7", "7y", "-1d", "1e3d", "d", 7, null, "9".repeat(400) + "d"]) assert.equal(parseDurationMs(bad), undefined, String(bad));
  });

  it("reads a since as a duration back from now or an RFC 3339 time, and names the field otherwise", () => {
    const now = Date.parse("2026-11-30T12:00:00Z");
    assert.equal(parseSinceMs("1h", now), now - 3_600_000);
    assert.equal(parseSinceMs("2026-11-29T12:00:00Z", now), now - 86_400_000);
    for (const bad of ["yesterday", "1", "1e400", "-9223372036854775808", "2026-13-45"]) {
      assert.throws(() => parseSinceMs(bad, now), (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument && /^since: /.test(e.message), bad);
    }
  });
});
