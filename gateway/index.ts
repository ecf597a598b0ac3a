// Public surface of the gateway.
export { createGateway, type GatewayOptions } from './app.ts';
export { requireBearer } from './auth.ts';
export { ApiError } from './errors.ts';
export { serveGateway } from './serve.ts';
