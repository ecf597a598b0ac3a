// Public surface of the gateway.
export { createGateway } from './app.ts';
export { DEFAULT_ORG_ID, DEV_USER_ID, userIdFor } from './auth.ts';
export { ApiError } from './errors.ts';
export { openApiDocument } from './openapi.ts';
export { mintPat } from './pat.ts';
export { serveGateway } from './serve.ts';
export type * from './types.ts';
