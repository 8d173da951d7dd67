/**
 * `@tabrpc/client/dev-idp`: the `AuthSource` adapter of the demo server's development
 * identity provider (`devIdpAuthSource`). For development and tests; a production app uses its
 * provider's adapter from `@tabrpc/client/auth`.
 *
 * @module
 */
export * from "./auth/devIdp.js";
