/**
 * The relay's own ports, in a module of their own: validation (config/semantic.ts) refuses them as route ports
 * without loading the relay construct and the provider classes it needs.
 */

/** HAProxy's health endpoint, which the load balancer checks. */
export const HEALTH_PORT = 8404;
