/**
 * The e2e harness in one import: environment gates and cleanup (env.ts),
 * namespaces and the corp network (netns.ts), the daemon process (daemon.ts),
 * host-side peers on 127.0.0.1 (peers.ts).
 */
export * from './env.js';
export * from './netns.js';
export * from './daemon.js';
export * from './peers.js';
export * from './cli.js';
