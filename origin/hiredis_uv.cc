// hiredis_uv.cc — the hiredis <-> libuv adapter (see hiredis_uv.h).
#include "origin/hiredis_uv.h"

#include <hiredis/async.h>
#include <uv.h>

namespace flightcache::origin {

namespace {

// One uv_poll_t per context. hiredis calls the hooks to say which events it wants and calls
// cleanup once when the context is freed; the poll's memory goes in its close callback.
struct UvEvents {
  redisAsyncContext* ac;
  uv_poll_t poll;
  int events;
};

void OnPoll(uv_poll_t* poll, int status, int events) {
  auto* ev = static_cast<UvEvents*>(poll->data);
  // On a poll error libuv has stopped the handle; let hiredis try the I/O it was waiting
  // for so that it sees the socket error and fails the context.
  if (status < 0) events = ev->events;
  if (ev->ac != nullptr && (events & UV_READABLE) != 0) redisAsyncHandleRead(ev->ac);
  if (ev->ac != nullptr && (events & UV_WRITABLE) != 0) redisAsyncHandleWrite(ev->ac);
}

void UpdatePoll(UvEvents* ev, int events) {
  ev->events = events;
  if (events != 0) {
    uv_poll_start(&ev->poll, events, OnPoll);
  } else {
    uv_poll_stop(&ev->poll);
  }
}

void UvAddRead(void* data) {
  auto* ev = static_cast<UvEvents*>(data);
  UpdatePoll(ev, ev->events | UV_READABLE);
}
void UvDelRead(void* data) {
  auto* ev = static_cast<UvEvents*>(data);
  UpdatePoll(ev, ev->events & ~UV_READABLE);
}
void UvAddWrite(void* data) {
  auto* ev = static_cast<UvEvents*>(data);
  UpdatePoll(ev, ev->events | UV_WRITABLE);
}
void UvDelWrite(void* data) {
  auto* ev = static_cast<UvEvents*>(data);
  UpdatePoll(ev, ev->events & ~UV_WRITABLE);
}
void UvCleanup(void* data) {
  auto* ev = static_cast<UvEvents*>(data);
  ev->ac = nullptr;  // the context is being freed; a poll event already queued must not use it
  // hiredis may call cleanup more than once (on disconnect, then on free).
  if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&ev->poll)) != 0) return;
  uv_close(reinterpret_cast<uv_handle_t*>(&ev->poll),
           [](uv_handle_t* handle) { delete static_cast<UvEvents*>(handle->data); });
}

}  // namespace

bool AttachToLoop(redisAsyncContext* ac, uv_loop_t* loop) {
  if (ac->ev.data != nullptr) return false;
  auto* ev = new UvEvents{ac, {}, 0};
  if (uv_poll_init(loop, &ev->poll, ac->c.fd) != 0) {
    delete ev;
    return false;
  }
  ev->poll.data = ev;
  ac->ev.data = ev;
  ac->ev.addRead = UvAddRead;
  ac->ev.delRead = UvDelRead;
  ac->ev.addWrite = UvAddWrite;
  ac->ev.delWrite = UvDelWrite;
  ac->ev.cleanup = UvCleanup;
  return true;
}

}  // namespace flightcache::origin
