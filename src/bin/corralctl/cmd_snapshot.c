/*
 * src/bin/corralctl/cmd_snapshot.c: corralctl snapshot -s HOST:ADMIN_PORT:
 * the member's state through the admin endpoint's `snapshot` command
 * (ZooKeeper 3.9's, admin_http), written as a storage_file snapshot file
 * that recovery, snapshot-dump, verify and restore read.  Also
 * ctl_fetch_snapshot, which `backup` uses.
 */
#include <getopt.h>
#include <unistd.h>

#include "storage_tool.h"

#define SNAP_POLL_MS 50

int ctl_fetch_snapshot(const CtlServer *s, const char *token, int timeout_ms, int stream, CtlSnapshot *out)
{
    memset(out, 0, sizeof *out);
    CtlHttp h;
    const char *target = stream == 3   ? "/commands/snapshot?store=false"
                         : stream == 2 ? "/commands/snapshot?wait=false"
                         : stream      ? "/commands/snapshot"
                                       : "/commands/snapshot?streaming=false";
    if (ctl_http_get(s, target, token, timeout_ms, &h) < 0)
        return -1;
    long long deadline = ctl_now_ms() + timeout_ms;
    for (;;) {
        const char *z = ctl_http_header(&h, "last_zxid");
        out->zxid = z ? (int64_t)strtoull(z, NULL, 16) : 0;
        const char *sz = ctl_http_header(&h, "snapshot_size");
        out->len = sz ? (size_t)strtoull(sz, NULL, 10) : 0;
        if (h.status != 202)
            break;
        /* Writes in flight: the member keeps the state until it has
         * acknowledged up to its zxid. */
        const char *t = ctl_http_header(&h, "X-Corral-Snapshot-Token");
        char next[96];
        snprintf(next, sizeof next, "/commands/snapshot?token=%s", t ? t : "0");
        ctl_http_free(&h);
        if (ctl_now_ms() > deadline) {
            ctl_fail("timed out after %d ms waiting for %s to acknowledge up to zxid 0x%" PRIx64, timeout_ms, s->label,
                     (uint64_t)out->zxid);
            return -1;
        }
        usleep(SNAP_POLL_MS * 1000);
        if (ctl_http_get(s, next, token, timeout_ms, &h) < 0)
            return -1;
    }
    const char *dz = ctl_http_header(&h, "X-Corral-Durable-Zxid");
    out->durable_zxid = dz ? (int64_t)strtoull(dz, NULL, 16) : out->zxid;
    if (h.status != 200) {
        int st = h.status;
        const char *b = h.body;
        size_t bl = h.body_len;
        while (bl && (b[bl - 1] == '\n'))
            bl--;
        ctl_fail("%s answered %d to the snapshot command: %.*s%s", s->label, st, (int)(bl < 400 ? bl : 400), b,
                 st == 401 || st == 403 ? " (give the admin token: --token-file FILE or CORRAL_ADMIN_TOKEN, and "
                                          "allow the command: modules.admin_http.commands)" : "");
        ctl_http_free(&h);
        return -1;
    }
    if (stream) {
        if (h.body_len != out->len || h.body_len < 8 || memcmp(h.body, SNAP_MAGIC, 8) != 0) {
            ctl_fail("%s sent %zu bytes, not the %zu-byte snapshot it announced", s->label, h.body_len, out->len);
            ctl_http_free(&h);
            return -1;
        }
        out->data = malloc(h.body_len ? h.body_len : 1);
        if (!out->data) {
            ctl_http_free(&h);
            ctl_fail("out of memory");
            return -1;
        }
        memcpy(out->data, h.body, h.body_len);
        char why[300];
        SnapPayload sp;
        if (parse_payload(out->data, out->len, out->zxid, &sp, why, sizeof why) < 0) {
            ctl_fail("the snapshot %s sent does not parse: %s", s->label, why);
            payload_free(&sp);
            ctl_http_free(&h);
            free(out->data);
            out->data = NULL;
            return -1;
        }
        out->nnodes = sp.nnodes;
        out->nsessions = (uint64_t)sp.nsessions;
        payload_free(&sp);
    }
    ctl_http_free(&h);
    return 0;
}

int ctl_write_snapshot_file(const char *path, const CtlSnapshot *sn, uint64_t *size, char *err, size_t errlen)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        dd_err(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    char why[256];
    if (walf_snapshot_write(fd, sn->zxid, sn->data, sn->len, 3, size, why, sizeof why) < 0 || fsync(fd) < 0) {
        dd_err(err, errlen, "cannot write %s: %s", tmp, why[0] ? why : strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        dd_err(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void snapshot_usage(FILE *f)
{
    fprintf(f,
            "Usage: corralctl snapshot -s HOST:ADMIN_PORT [-o FILE] [--token-file FILE] [--no-stream] [--json] [-P]\n"
            "\n"
            "Asks a running member for its state through the admin endpoint's snapshot\n"
            "command (modules.admin_http; it needs the admin token) and writes it as a\n"
            "storage_file snapshot (snapshot.ZXID.zst: what a data directory holds, what\n"
            "snapshot-dump and restore read).  The member also stores a snapshot in its\n"
            "own data directory.  Only acknowledged state is written: while writes are\n"
            "in flight the member holds the state until it has acknowledged them.\n"
            "  -o, --output FILE     where to write (default ./snapshot.ZXID.zst)\n"
            "  --token-file FILE     the admin token (default $CORRAL_ADMIN_TOKEN)\n"
            "  --no-stream           only make the member store a snapshot; print its zxid\n"
            "  --unacknowledged      the state as it is, with writes not yet acknowledged\n"
            "                        (to rescue a member whose storage is gone: they never will be)\n"
            "  -j, --json            a JSON summary on stdout\n"
            "  -P, --progress        progress on stderr (the default when it is a terminal)\n"
            "\n"
            "Exit status: 0 written, 1 the member refused or could not be reached, 2 bad usage.\n");
}

/* --json: what was taken and where it went (file NULL: --no-stream). */
static void summary_json(const CtlServer *srv, const CtlSnapshot *sn, const char *file, uint64_t size, long long ms)
{
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    corral_strbuf_puts(&sb, "{");
    json_kstr(&sb, "server", srv->label);
    json_khex(&sb, "zxid", sn->zxid);
    json_kint(&sb, "payload_bytes", (int64_t)sn->len);
    if (file) {
        json_khex(&sb, "durable_zxid", sn->durable_zxid);
        json_kint(&sb, "znodes", (int64_t)sn->nnodes);
        json_kint(&sb, "sessions", (int64_t)sn->nsessions);
        json_kstr(&sb, "file", file);
        json_kint(&sb, "file_bytes", (int64_t)size);
    }
    json_kint(&sb, "elapsed_ms", ms);
    corral_strbuf_puts(&sb, "}");
    emit(&sb);
    corral_strbuf_free(&sb);
}

int ctl_cmd_snapshot(CtlOptions *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"server", required_argument, NULL, 's'},
        {"timeout", required_argument, NULL, 't'},
        {"output", required_argument, NULL, 'o'},
        {"token-file", required_argument, NULL, 'T'},
        {"no-stream", no_argument, NULL, 'N'},
        {"unacknowledged", no_argument, NULL, 'U'},
        {"json", no_argument, NULL, 'j'},
        {"progress", no_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *output = NULL, *token_file = NULL;
    int stream = 1, json = 0, progress = isatty(2), c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "s:t:o:jPh", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            o->server = optarg;
            break;
        case 't':
            o->timeout_ms = atoi(optarg);
            if (o->timeout_ms < 1)
                return ctl_usage_error("--timeout must be a number of milliseconds");
            break;
        case 'o':
            output = optarg;
            break;
        case 'T':
            token_file = optarg;
            break;
        case 'N':
            stream = 0;
            break;
        case 'U':
            stream = 2;
            break;
        case 'j':
            json = 1;
            break;
        case 'P':
            progress = 1;
            break;
        case 'h':
            snapshot_usage(stdout);
            return CTL_EXIT_OK;
        default:
            return ctl_usage_error("snapshot: unknown option or missing argument \"%s\"", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return ctl_usage_error("snapshot: unexpected argument \"%s\"", argv[optind]);
    CtlServer srv;
    char err[PATH_MAX + 300];
    if (ctl_parse_server(o->server, &srv, err, sizeof err) < 0)
        return ctl_usage_error("%s", err);
    int terr;
    char *token = ctl_admin_token(token_file, &terr);
    if (terr)
        return CTL_EXIT_FAIL;
    long long t0 = ctl_now_ms();
    if (progress)
        fprintf(stderr, "snapshot of %s: taking it...\n", srv.label);
    CtlSnapshot sn;
    int rc = ctl_fetch_snapshot(&srv, token, o->timeout_ms, stream, &sn);
    free(token);
    if (rc < 0)
        return CTL_EXIT_FAIL;
    if (!stream) {
        if (json)
            summary_json(&srv, &sn, NULL, 0, ctl_now_ms() - t0);
        else
            printf("%s stored a snapshot at zxid 0x%" PRIx64 " (%zu bytes before compression)\n", srv.label,
                   (uint64_t)sn.zxid, sn.len);
        return CTL_EXIT_OK;
    }
    if (progress)
        fprintf(stderr, "snapshot of %s: zxid 0x%" PRIx64 ", %zu bytes, %" PRIu64 " znodes received; writing...\n",
                srv.label, (uint64_t)sn.zxid, sn.len, sn.nnodes);
    char path[PATH_MAX];
    if (output)
        snprintf(path, sizeof path, "%s", output);
    else
        walf_snap_name(path, sizeof path, sn.zxid, "zst");
    uint64_t size = 0;
    rc = ctl_write_snapshot_file(path, &sn, &size, err, sizeof err);
    free(sn.data);
    if (rc < 0)
        return ctl_fail("%s", err);
    if (json) {
        summary_json(&srv, &sn, path, size, ctl_now_ms() - t0);
        return CTL_EXIT_OK;
    }
    printf("snapshot at zxid 0x%" PRIx64 " from %s: %" PRIu64 " znodes, %" PRIu64 " sessions, %zu bytes, written to "
           "%s (%" PRIu64 " bytes)\n",
           (uint64_t)sn.zxid, srv.label, sn.nnodes, sn.nsessions, sn.len, path, size);
    if (sn.durable_zxid < sn.zxid)
        printf("note: the member had acknowledged only up to zxid 0x%" PRIx64 "; the transactions after it in this "
               "snapshot were never acknowledged\n", (uint64_t)sn.durable_zxid);
    return CTL_EXIT_OK;
}
