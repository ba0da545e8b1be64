/*
 * src/backend/net/eventloop.c: epoll loop with timers and before-sleep hooks.
 *
 * Timers live in a binary heap ordered by due time.  A cancelled timer
 * stays in the heap and its id goes into a small unsorted set; it is
 * dropped when it surfaces.  Cancel and the check are linear in the number
 * of cancellations pending (a handful: timers are few and long-lived).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "net/eventloop.h"
#include "utils/alloc.h"

typedef struct FdSlot {
    CorralFdFn fn;
    void *arg;
    int events;          /* 0 = not watched */
} FdSlot;

typedef struct Timer {
    int64_t due;
    uint64_t id;
    CorralTimerFn fn;
    void *arg;
} Timer;

typedef struct Hook {
    ElHookFn fn;
    void *arg;
} Hook;

static struct {
    int epfd;
    int wake_fd;
    FdSlot *fds;
    int nfds;
    Timer *heap;
    size_t nheap, capheap;
    uint64_t *cancelled;        /* unsorted set of the cancelled ids still in the heap */
    size_t ncancelled, capcancelled;
    uint64_t next_timer_id;
    Hook *hooks;
    size_t nhooks;
    volatile int stop;
    int64_t now_ms, wall_ms;
} loop = {.epfd = -1, .wake_fd = -1};

void el_update_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    loop.now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    clock_gettime(CLOCK_REALTIME, &ts);
    loop.wall_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t el_now_ms(void) { return loop.now_ms; }
int64_t el_wall_ms(void) { return loop.wall_ms; }

static void drain_wake(int fd, int events, void *arg)
{
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
}

int el_init(void)
{
    loop.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop.epfd < 0)
        return -1;
    loop.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop.wake_fd < 0)
        return -1;
    loop.next_timer_id = 1;
    el_update_time();
    return el_watch(loop.wake_fd, CORRAL_EV_READ, drain_wake, NULL);
}

void el_shutdown(void)
{
    if (loop.epfd >= 0)
        close(loop.epfd);
    if (loop.wake_fd >= 0)
        close(loop.wake_fd);
    free(loop.fds);
    free(loop.heap);
    free(loop.cancelled);
    free(loop.hooks);
    memset(&loop, 0, sizeof loop);
    loop.epfd = loop.wake_fd = -1;
}

void el_wakeup(void)
{
    uint64_t one = 1;
    ssize_t r = write(loop.wake_fd, &one, sizeof one);
    (void)r;
}

int el_watch(int fd, int events, CorralFdFn fn, void *arg)
{
    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    if (fd >= loop.nfds) {
        int n = loop.nfds ? loop.nfds : 64;
        while (n <= fd)
            n *= 2;
        loop.fds = xrealloc(loop.fds, (size_t)n * sizeof *loop.fds);
        memset(loop.fds + loop.nfds, 0, (size_t)(n - loop.nfds) * sizeof *loop.fds);
        loop.nfds = n;
    }
    struct epoll_event ev = {0};
    ev.events = ((events & CORRAL_EV_READ) ? EPOLLIN : 0) | ((events & CORRAL_EV_WRITE) ? EPOLLOUT : 0);
    ev.data.fd = fd;
    int op = loop.fds[fd].events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(loop.epfd, op, fd, &ev) < 0)
        return -1;
    loop.fds[fd].fn = fn;
    loop.fds[fd].arg = arg;
    /* Remember "watched" even with no events so the next call is a MOD. */
    loop.fds[fd].events = events | 0x100;
    return 0;
}

void el_unwatch(int fd)
{
    if (fd < 0 || fd >= loop.nfds || !loop.fds[fd].events)
        return;
    epoll_ctl(loop.epfd, EPOLL_CTL_DEL, fd, NULL);
    memset(&loop.fds[fd], 0, sizeof loop.fds[fd]);
}

/* ---- timers ------------------------------------------------------------- */

static int timer_less(const Timer *a, const Timer *b)
{
    return a->due < b->due || (a->due == b->due && a->id < b->id);
}

static void heap_push(Timer t)
{
    if (loop.nheap == loop.capheap) {
        loop.capheap = loop.capheap ? loop.capheap * 2 : 32;
        loop.heap = xrealloc(loop.heap, loop.capheap * sizeof *loop.heap);
    }
    size_t i = loop.nheap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!timer_less(&t, &loop.heap[p]))
            break;
        loop.heap[i] = loop.heap[p];
        i = p;
    }
    loop.heap[i] = t;
}

static Timer heap_pop(void)
{
    Timer top = loop.heap[0];
    Timer last = loop.heap[--loop.nheap];
    size_t i = 0, n = loop.nheap;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const Timer *best = &last;
        if (l < n && timer_less(&loop.heap[l], best))
            m = l, best = &loop.heap[l];
        if (r < n && timer_less(&loop.heap[r], best))
            m = r;
        if (m == i)
            break;
        loop.heap[i] = loop.heap[m];
        i = m;
    }
    if (n)
        loop.heap[i] = last;
    return top;
}

uint64_t el_add_timer(int64_t delay_ms, CorralTimerFn fn, void *arg)
{
    Timer t = {loop.now_ms + (delay_ms < 0 ? 0 : delay_ms), loop.next_timer_id++, fn, arg};
    heap_push(t);
    return t.id;
}

static int is_cancelled(uint64_t id, int take)
{
    for (size_t i = 0; i < loop.ncancelled; i++)
        if (loop.cancelled[i] == id) {
            if (take)
                loop.cancelled[i] = loop.cancelled[--loop.ncancelled];
            return 1;
        }
    return 0;
}

void el_cancel_timer(uint64_t id)
{
    int found = 0;
    for (size_t i = 0; i < loop.nheap; i++)
        if (loop.heap[i].id == id)
            found = 1;
    if (!found || is_cancelled(id, 0))
        return;
    if (loop.ncancelled == loop.capcancelled) {
        loop.capcancelled = loop.capcancelled ? loop.capcancelled * 2 : 16;
        loop.cancelled = xrealloc(loop.cancelled, loop.capcancelled * sizeof *loop.cancelled);
    }
    loop.cancelled[loop.ncancelled++] = id;
}

static void run_timers(void)
{
    while (loop.nheap && loop.heap[0].due <= loop.now_ms) {
        Timer t = heap_pop();
        if (is_cancelled(t.id, 1))
            continue;
        int64_t again = t.fn(t.arg);
        if (again >= 0) {
            t.due = loop.now_ms + again;
            heap_push(t);
        }
    }
}

void el_add_before_sleep(ElHookFn fn, void *arg)
{
    loop.hooks = xrealloc(loop.hooks, (loop.nhooks + 1) * sizeof *loop.hooks);
    loop.hooks[loop.nhooks++] = (Hook){fn, arg};
}

void el_stop(void)
{
    loop.stop = 1;
    el_wakeup();
}

int el_run(void)
{
    struct epoll_event events[256];
    loop.stop = 0;
    while (!loop.stop) {
        for (size_t i = 0; i < loop.nhooks; i++)
            loop.hooks[i].fn(loop.hooks[i].arg);
        if (loop.stop)
            break;
        int timeout = -1;
        el_update_time();
        while (loop.nheap && is_cancelled(loop.heap[0].id, 0)) {
            Timer t = heap_pop();
            is_cancelled(t.id, 1);
        }
        if (loop.nheap) {
            int64_t d = loop.heap[0].due - loop.now_ms;
            timeout = d < 0 ? 0 : d > 60000 ? 60000 : (int)d;
        }
        int n = epoll_wait(loop.epfd, events, 256, timeout);
        el_update_time();
        if (n < 0 && errno != EINTR)
            return -1;
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd >= loop.nfds || !loop.fds[fd].fn)
                continue;       /* unwatched by an earlier callback this turn */
            int ev = 0;
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                ev |= CORRAL_EV_READ;
            if (events[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
                ev |= CORRAL_EV_WRITE;
            ev &= loop.fds[fd].events | ((events[i].events & (EPOLLHUP | EPOLLERR)) ? 3 : 0);
            if (ev)
                loop.fds[fd].fn(fd, ev, loop.fds[fd].arg);
        }
        run_timers();
    }
    return 0;
}

/* Public wrappers for modules (corral/loop.h). */
int corral_loop_watch_fd(int fd, int events, CorralFdFn fn, void *arg) { return el_watch(fd, events, fn, arg); }
void corral_loop_unwatch_fd(int fd) { el_unwatch(fd); }
uint64_t corral_loop_add_timer(int64_t delay_ms, CorralTimerFn fn, void *arg) { return el_add_timer(delay_ms, fn, arg); }
void corral_loop_cancel_timer(uint64_t id) { el_cancel_timer(id); }
int64_t corral_loop_now_ms(void) { return el_now_ms(); }
