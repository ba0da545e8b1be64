/*
 * regress/fuzz/fuzz_common.h: what the libFuzzer harnesses share (header
 * only): the entry point's prototype, a check that makes libFuzzer report
 * a crash, and an anonymous in-memory file for readers that take a path.
 */
#ifndef CORRAL_FUZZ_COMMON_H
#define CORRAL_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property the code under test must keep: abort (libFuzzer saves the
 * input as crash-*) with the place and what was expected. */
#define FUZZ_CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort(); \
        } \
    } while (0)

/*
 * An anonymous file (memfd) holding data, reachable by path as
 * /proc/self/fd/N, for readers that open a path (WAL segments, snapshots).
 * Nothing touches the disk and nothing is left behind: fuzz_file_close
 * releases it.  Returns the fd (>= 0), or aborts.
 */
static inline int fuzz_file(const uint8_t *data, size_t size, char *path, size_t pathlen)
{
    int fd = memfd_create("corral-fuzz", MFD_CLOEXEC);
    if (fd < 0) {
        perror("memfd_create");
        abort();
    }
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) {
            perror("write memfd");
            abort();
        }
        off += (size_t)w;
    }
    snprintf(path, pathlen, "/proc/self/fd/%d", fd);
    return fd;
}

static inline void fuzz_file_close(int fd) { close(fd); }

#endif
