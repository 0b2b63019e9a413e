/**
 * Turn libuv's idle-time metrics on the main event loop off (or back on).
 *
 * Node turns them on at start (uv_loop_configure(UV_METRICS_IDLE_TIME)) for
 * performance.eventLoopUtilization(). With them on, libuv's poll phase, before
 * it blocks, first polls with a zero timeout (so that time spent blocked can
 * be told from time spent handling events; libuv's uv__io_poll, "reset_timeout"),
 * then again with the real one: one epoll_wait more every time the loop goes
 * to sleep, and a daemon that forwards a request/response flow goes to sleep
 * twice per round trip. Measured under sockperf ping-pong with `--busy-poll 0`
 * (every input comes after a sleep): epoll_pwait was 49% of the daemon's
 * system calls (4 of about 8 per round trip) and 33% with the flag cleared
 * (2 of 6, as many as slirp4netns makes); npm run bench:ab, 12 paired rounds:
 * CPU per round trip 0.93x (lower in 11 of 12 rounds), p50 0.98x, p99 0.94x.
 *
 * Node has no API to turn them off and libuv has no option to, so this clears
 * the flag where libuv keeps it, through koffi: uv_default_loop() (exported by
 * the node binary) is Node's main loop; uv_loop_t's `internal_fields` pointer
 * sits after its public fields (data, active_handles, handle_queue,
 * active_reqs: offset 40 on 64-bit), a layout libuv keeps stable within
 * version 1 (its ABI promise), and the internal struct it points to starts
 * with `unsigned int flags`, bit 0 being UV_METRICS_IDLE_TIME (libuv 1.39 on).
 * The word is read first and written only if it holds that bit and nothing
 * unexpected; anything else leaves the loop untouched and returns false.
 * Turning them back on goes through libuv's own uv_loop_configure.
 *
 * The cost: performance.eventLoopUtilization() reports no idle time while off
 * (hnet does not use it). Linux only, where it was measured.
 */
import koffi from 'koffi';

/** uv_loop_option UV_METRICS_IDLE_TIME, also its bit in the internal flags. */
const UV_METRICS_IDLE_TIME = 1;
/** offsetof(uv_loop_t, internal_fields) with 8-byte pointers. */
const INTERNAL_FIELDS_OFFSET = 40;
/** The internal flags libuv 1.x defines fit in these bits (idle-time metrics, io_uring SQPOLL). */
const KNOWN_FLAG_BITS = 0xff;

interface Uv {
  loop: unknown;
  configure: (loop: unknown, option: number) => number;
}

let uv: Uv | null | undefined;

function bind(): Uv | null {
  if (uv !== undefined) return uv;
  uv = null;
  const [major, minor] = process.versions.uv.split('.').map(Number);
  if (process.platform !== 'linux' || koffi.sizeof('void *') !== 8 || major !== 1 || minor < 39) return uv;
  try {
    const self = koffi.load(null); // the node executable's own symbols (dlopen(NULL))
    const defaultLoop = self.func('void *uv_default_loop(void)') as () => unknown;
    const configure = self.func('int uv_loop_configure(void *loop, int option)') as Uv['configure'];
    uv = { loop: defaultLoop(), configure };
  } catch {
    uv = null; // a node built against a shared libuv, or without its symbols exported
  }
  return uv;
}

/** Idle-time metrics on or off on the main loop; false if this Node cannot be changed. */
export function setLoopIdleTimeMetrics(on: boolean): boolean {
  const u = bind();
  if (!u) return false;
  if (on) return u.configure(u.loop, UV_METRICS_IDLE_TIME) === 0;
  const fields = koffi.decode(u.loop, INTERNAL_FIELDS_OFFSET, 'void *') as unknown;
  if (fields === null) return false;
  const flags = koffi.decode(fields, 'uint32') as number;
  if ((flags & ~KNOWN_FLAG_BITS) !== 0) return false;
  if ((flags & UV_METRICS_IDLE_TIME) !== 0) koffi.encode(fields, 'uint32', flags & ~UV_METRICS_IDLE_TIME);
  return true;
}
