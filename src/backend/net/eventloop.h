/*
 * src/backend/net/eventloop.h: the one event loop (epoll), Redis' ae.c in
 * miniature.
 *
 * Owns: the epoll instance, the table of watched file descriptors, timers
 * and the before-sleep hooks.  Everything here runs on the main thread;
 * other threads talk to the loop only through file descriptors they signal
 * (eventfd), never by calling in.
 *
 * Turn order: wait for events (or the next timer) -> run fd callbacks ->
 * run due timers -> run before-sleep hooks.  Before-sleep hooks are where
 * work batched during a turn is flushed: replies written, a group of
 * transactions handed to storage.
 */
#ifndef CORRAL_NET_EVENTLOOP_H
#define CORRAL_NET_EVENTLOOP_H

#include <stdint.h>

#include "corral/loop.h"

int el_init(void);                 /* 0, or -1 with errno */
void el_shutdown(void);
int el_watch(int fd, int events, CorralFdFn fn, void *arg);
void el_unwatch(int fd);
uint64_t el_add_timer(int64_t delay_ms, CorralTimerFn fn, void *arg);
void el_cancel_timer(uint64_t id);
typedef void (*ElHookFn)(void *arg);
void el_add_before_sleep(ElHookFn fn, void *arg);
/* Runs until el_stop(); returns 0. */
int el_run(void);
void el_stop(void);
int64_t el_now_ms(void);           /* monotonic, cached per turn */
int64_t el_wall_ms(void);          /* wall clock ms, cached per turn */
void el_update_time(void);
/* Makes the current epoll_wait return at once (safe from any thread or a
 * signal handler). */
void el_wakeup(void);

#endif
