/*
 * include/corral/loop.h: the event loop, as modules see it.
 *
 * corrald runs one event loop (epoll) on its main thread; every callback
 * below runs on that thread, one at a time, and must not block: a module
 * that needs to wait on a disk or a slow peer does it on a thread of its own
 * and hands the result back through a file descriptor it watches here
 * (an eventfd or a pipe).
 */
#ifndef CORRAL_LOOP_H
#define CORRAL_LOOP_H

#include <stdint.h>

#define CORRAL_EV_READ  1
#define CORRAL_EV_WRITE 2

typedef void (*CorralFdFn)(int fd, int events, void *arg);
/* Returns the delay in ms until it runs again, or -1 to stop. */
typedef int64_t (*CorralTimerFn)(void *arg);

/* 0 on success, -1 (errno set) on failure.  Calling add again for a
 * watched fd changes its events and callback. */
int corral_loop_watch_fd(int fd, int events, CorralFdFn fn, void *arg);
void corral_loop_unwatch_fd(int fd);
/* Returns a timer id > 0. */
uint64_t corral_loop_add_timer(int64_t delay_ms, CorralTimerFn fn, void *arg);
void corral_loop_cancel_timer(uint64_t id);
/* Monotonic milliseconds, cached once per loop turn. */
int64_t corral_loop_now_ms(void);

#endif
