export { createGateway, GATEWAY_VERSION } from "./gateway.js";
export type { Gateway, GatewayOptions } from "./gateway.js";
export { TokenAuthority, TOKEN_PREFIX } from "./token-authority.js";
export type { TokenAuthorityOptions, IssueInput } from "./token-authority.js";
export { TokenStore, migrations as gatewayMigrations } from "./token-store.js";
export type { GatewayDatabase, TokenRow } from "./token-store.js";
export { authenticate } from "./auth.js";
export type { TokenVerifier } from "./auth.js";
export type { Identity, Role } from "./identity.js";
