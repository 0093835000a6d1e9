// hiredis_uv.h — attaches a hiredis async context to a libuv loop (one uv_poll_t per context).
//
// Our own adapter rather than <hiredis/adapters/libuv.h>: the 0.14 one ignores poll errors, and
// libuv reports POLLERR (a refused connect, a reset) only as a poll error, so such a connection
// would hang. Used by the Redis origin's fetch connections and its invalidation subscriber.
// The poll's memory is released in its close callback, after hiredis' cleanup hook.
#pragma once

struct redisAsyncContext;
struct uv_loop_s;

namespace flightcache::origin {

// Hooks ac's event callbacks to a uv_poll on loop. False when ac already has an adapter or
// the socket cannot be watched (the caller then frees ac).
bool AttachToLoop(redisAsyncContext* ac, uv_loop_s* loop);

}  // namespace flightcache::origin
