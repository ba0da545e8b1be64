/*
 * src/bin/corralctl/compare.c: `corralctl compare HOST:PORT HOST:PORT...`,
 * comparing ensemble members' data while they serve writes.
 *
 * Each member's `hash` lists its digest log: the tree digest at every zxid
 * whose counter is a multiple of 128 (the last 1024 of them), then the
 * digest at the zxid it has applied.  Busy members never stand at the same
 * applied zxid when asked, but their logs hold the same zxids: the members
 * agree when their digests agree at every zxid all of them list.  Prints
 * one line per such zxid (the newest 10 unless --all) and a verdict.
 * Exit: 0 all agree, 1 a difference (or a member unreachable, or no zxid in
 * common yet: too few writes), 2 bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corralctl.h"

#define MAX_MEMBERS 32

typedef struct Entry {
    unsigned long long zxid;
    long long digest;
} Entry;

typedef struct Member {
    CtlServer srv;
    Entry *e;
    size_t n;
} Member;

static int parse_hash(const char *text, Member *m)
{
    for (const char *p = text; *p;) {
        unsigned long long z;
        long long d;
        int used = 0;
        if (sscanf(p, "%llx: %lld%n", &z, &d, &used) != 2)
            return -1;
        Entry *e = realloc(m->e, (m->n + 1) * sizeof *e);
        if (!e)
            return -1;
        m->e = e;
        m->e[m->n++] = (Entry){z, d};
        p += used;
        while (*p == '\n' || *p == '\r')
            p++;
    }
    return 0;
}

static const Entry *find(const Member *m, unsigned long long zxid)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].zxid == zxid)
            return &m->e[i];
    return NULL;
}

static int cmp_zxid(const void *a, const void *b)
{
    unsigned long long x = ((const Entry *)a)->zxid, y = ((const Entry *)b)->zxid;
    return x < y ? -1 : x > y;
}

int ctl_cmd_compare(CtlOptions *o, int argc, char **argv)
{
    int help = 0, all = 0, k = 0;
    /* --all is ours: take it out before the global options are parsed. */
    for (int i = 0; i < argc; i++) {
        if (i > 0 && !strcmp(argv[i], "--all"))
            all = 1;
        else
            argv[k++] = argv[i];
    }
    argc = k;
    int first = ctl_parse_options(o, argc, argv, 1, &help);
    if (first < 0)
        return CTL_EXIT_USAGE;
    if (help) {
        printf("Usage: corralctl compare [--all] [--timeout MS] HOST:PORT HOST:PORT...\n"
               "\n"
               "Asks each member for `hash` (its digest log) and compares the tree digests at the\n"
               "zxids every member lists.  Exit 0: they agree; 1: they differ, or cannot be compared.\n");
        return CTL_EXIT_OK;
    }
    Member m[MAX_MEMBERS];
    int n = 0;
    for (int i = first; i < argc; i++) {
        if (n == MAX_MEMBERS)
            return ctl_usage_error("at most %d members", MAX_MEMBERS);
        char err[300];
        memset(&m[n], 0, sizeof m[n]);
        if (ctl_parse_server(argv[i], &m[n].srv, err, sizeof err) < 0)
            return ctl_usage_error("%s", err);
        n++;
    }
    if (n < 2)
        return ctl_usage_error("compare needs at least two members (HOST:PORT HOST:PORT...)");
    int rc = CTL_EXIT_OK;
    for (int i = 0; i < n && rc == CTL_EXIT_OK; i++) {
        CtlBuf b = {NULL, 0, 0};
        char err[400];
        long long deadline = ctl_now_ms() + o->timeout_ms;
        if (ctl_fetch_word(&m[i].srv, "hash", deadline, o->timeout_ms, &b, err, sizeof err) < 0)
            rc = ctl_fail("%s", err);
        else if (parse_hash(b.data, &m[i]) < 0)
            rc = ctl_fail("%s answered hash with something else (is `hash` in its fourlw allow list?): %.80s",
                          m[i].srv.label, b.data);
        free(b.data);
    }
    if (rc != CTL_EXIT_OK)
        goto out;
    /* The zxids every member lists, oldest first. */
    Entry *common = calloc(m[0].n ? m[0].n : 1, sizeof *common);
    size_t nc = 0;
    for (size_t j = 0; common && j < m[0].n; j++) {
        int everywhere = 1;
        for (int i = 1; i < n && everywhere; i++)
            everywhere = find(&m[i], m[0].e[j].zxid) != NULL;
        if (everywhere)
            common[nc++] = m[0].e[j];
    }
    qsort(common, nc, sizeof *common, cmp_zxid);
    if (nc == 0) {
        free(common);
        rc = ctl_fail("no zxid in common between the digest logs (each keeps every 128th zxid): retry after more "
                      "writes, or compare idle members");
        goto out;
    }
    size_t bad = 0;
    for (size_t j = 0; j < nc; j++) {
        int same = 1;
        for (int i = 1; i < n; i++)
            same &= find(&m[i], common[j].zxid)->digest == common[j].digest;
        bad += !same;
        if (!all && same && j + 10 < nc)
            continue;
        printf("0x%llx:", common[j].zxid);
        if (same)
            printf(" %lld on every member\n", common[j].digest);
        else
            for (int i = 0; i < n; i++)
                printf(" %s=%lld", m[i].srv.label, find(&m[i], common[j].zxid)->digest);
        if (!same)
            printf("  DIFFERENT\n");
    }
    if (bad) {
        printf("the members differ at %zu of %zu zxids\n", bad, nc);
        rc = CTL_EXIT_FAIL;
    } else {
        printf("%d members agree at %zu zxids (up to 0x%llx)\n", n, nc, common[nc - 1].zxid);
    }
    free(common);
out:
    for (int i = 0; i < n; i++)
        free(m[i].e);
    return rc;
}
