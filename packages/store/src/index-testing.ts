/** `@switchyard/store/testing`: the back ends the store contract tests run on, and the upgrade fixtures' helpers. */
export { describeEachStoreBackend, freshPostgresDatabase, storeBackends, TEST_POSTGRES_ENV } from "./test-backends.js";
export type { TestDatabase, TestStoreBackend } from "./test-backends.js";
export { describeUpgradeFixtures, openUpgradeFixture, upgradeFixtureName, upgradeFixtures } from "./test-fixtures.js";
export type { OpenedFixture } from "./test-fixtures.js";
