/**
 * Keeps Node's event loop turning (epoll_wait with a zero timeout) instead of
 * blocking, for the busy poll (busy-poll.ts), between start() and stop().
 *
 * The native spinner starts a libuv idle handle on the main loop: while an
 * idle handle is active libuv polls without blocking (uv_backend_timeout),
 * and no JavaScript runs on a turn that finds nothing. Its callback is a
 * native function that only reads the handle (uv_is_active; its int result
 * is ignored, as a void callback's would be), so a turn
 * allocates nothing. A self-renewing setImmediate, the fallback, allocates
 * about 330 bytes a turn in Node 20: at the 1-2 million turns a second of a
 * poll that meant a 0.5 ms scavenge every 35 ms, which 0.1% of sockperf's
 * round trips met (p99.9 near 300 us; steps-2026-12-07.md).
 *
 * The handle lives for the process (never closed: Node does not close the
 * default loop) and is unreferenced, so it never keeps the process alive.
 * It is the main thread's: elsewhere there is no native spinner.
 * The functions come from the node binary, which exports libuv's API for
 * addons, through koffi; where that fails (not glibc, or a Node without the
 * exports) nativeLoopSpinner() returns null and the caller takes the fallback.
 */
import { isMainThread } from 'node:worker_threads';
import koffi from 'koffi';

export interface LoopSpinner {
  /** Keep the loop from blocking from now on (idempotent). */
  start(): void;
  /** Let it block again (idempotent). */
  stop(): void;
}

/** uv_idle_t is 120 bytes on 64-bit Linux (uv.h UV_HANDLE_FIELDS + idle_cb + queue); room to spare. */
const UV_IDLE_SIZE = 256;

/** The idle handle's start and stop, bound once per process; null where they cannot be had. */
let handleOps: { start(): void; stop(): void } | null | undefined;
/** Spinners started on the shared handle: it runs while any is. */
let running = 0;
const keepAlive: Buffer[] = [];

function bindIdleHandle(): { start(): void; stop(): void } | null {
  if (process.platform !== 'linux' || !isMainThread) return null;
  try {
    const self = koffi.load(null);
    const dlsym = koffi.load('libc.so.6').func('void *dlsym(void *handle, const char *name)');
    // glibc's RTLD_DEFAULT is a null handle: search the program and its libraries.
    const noop = dlsym(null, 'uv_is_active') as unknown;
    if (!noop) return null;
    const defaultLoop = self.func('void *uv_default_loop()');
    const idleInit = self.func('int uv_idle_init(void *loop, void *handle)');
    const idleStart = self.func('int uv_idle_start(void *handle, void *cb)');
    const idleStop = self.func('int uv_idle_stop(void *handle)');
    const unref = self.func('void uv_unref(void *handle)');
    const handle = Buffer.alloc(UV_IDLE_SIZE);
    if (idleInit(defaultLoop(), handle) !== 0) return null;
    unref(handle);
    // Keep the handle's memory reachable for as long as libuv may touch it: the process's life.
    keepAlive.push(handle);
    return { start: () => void idleStart(handle, noop), stop: () => void idleStop(handle) };
  } catch {
    return null;
  }
}

/**
 * A spinner on the main loop's idle handle, or null where it cannot be had
 * (not Linux, not the main thread: the handle belongs to the main thread's
 * loop). Every call returns a spinner of its own; the one handle runs while
 * any of them is started (several daemons in one process, as in tests).
 */
export function nativeLoopSpinner(): LoopSpinner | null {
  if (handleOps === undefined) handleOps = bindIdleHandle();
  const ops = handleOps;
  if (!ops) return null;
  let on = false;
  return {
    start() {
      if (on) return;
      on = true;
      if (running++ === 0) ops.start();
    },
    stop() {
      if (!on) return;
      on = false;
      if (--running === 0) ops.stop();
    },
  };
}

/** The fallback: a setImmediate that renews itself while started. */
export function immediateLoopSpinner(): LoopSpinner {
  let on = false;
  let pending = false;
  const turn = (): void => {
    pending = false;
    if (!on) return;
    pending = true;
    setImmediate(turn);
  };
  return {
    start() {
      on = true;
      if (!pending) turn();
    },
    stop() {
      on = false;
    },
  };
}
