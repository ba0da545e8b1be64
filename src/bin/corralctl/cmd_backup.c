/*
 * src/bin/corralctl/cmd_backup.c: corralctl backup -s HOST:ADMIN_PORT -o DIR:
 * an online backup of a running member (standalone, leader, follower or
 * observer) while it serves writes, and the backup manifest that restore
 * checks (backup_manifest: format, server, version, start and end zxid,
 * every file with its size and CRC32C, and the manifest's own CRC32C, as
 * PostgreSQL's pg_basebackup writes one).
 *
 * The state comes from the admin endpoint's `snapshot` command: exact at
 * one zxid (the core serialises its tree at that zxid, and only once the
 * member has acknowledged it), so the backup is consistent at its end zxid
 * with no WAL to replay: start and end zxid are the same.  Later
 * transactions come from the WAL archive (archive_dir) at restore time.
 */
#include <getopt.h>

#include "storage_tool.h"

#define MANIFEST "backup_manifest"
#define MANIFEST_FORMAT 1

/* "key" : "value" (Jackson's layout, or without spaces) in a JSON text:
 * the value into buf, or "" when absent. */
static void json_find_str(const char *text, size_t len, const char *key, char *buf, size_t n)
{
    buf[0] = '\0';
    char pat[80];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = memmem(text, len, pat, strlen(pat));
    if (!p)
        return;
    p += strlen(pat);
    while (*p == ' ' || *p == ':')
        p++;
    if (*p != '"')
        return;
    p++;
    size_t i = 0;
    while (*p && *p != '"' && i + 1 < n)
        buf[i++] = *p++;
    buf[i] = '\0';
}

int ctl_file_crc32c(const char *path, uint32_t *crc, uint64_t *size, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        dd_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    char buf[1 << 16];
    ssize_t r;
    uint32_t c = 0;
    uint64_t n = 0;
    while ((r = read(fd, buf, sizeof buf)) > 0) {
        c = walf_crc32c(c, buf, (size_t)r);
        n += (uint64_t)r;
    }
    int e = errno;
    close(fd);
    if (r < 0) {
        dd_err(err, errlen, "cannot read %s: %s", path, strerror(e));
        return -1;
    }
    *crc = c;
    *size = n;
    return 0;
}

static void backup_usage(FILE *f)
{
    fprintf(f,
            "Usage: corralctl backup -s HOST:ADMIN_PORT -o DIR [--token-file FILE] [--json] [-P]\n"
            "\n"
            "Takes a consistent backup of a running member (standalone, leader, follower or\n"
            "observer) while it keeps serving writes, through its admin endpoint\n"
            "(modules.admin_http, the snapshot command; the admin token is needed): the\n"
            "state at one zxid, every transaction acknowledged before it and none after,\n"
            "as a storage_file snapshot, and DIR/backup_manifest (start and end zxid,\n"
            "server version, every file with its size and CRC32C).  DIR must not exist or\n"
            "be empty.  Restore with `corralctl restore DIR -D DATA_DIR`.\n"
            "  -o, --output DIR      the backup directory\n"
            "  --token-file FILE     the admin token (default $CORRAL_ADMIN_TOKEN)\n"
            "  -j, --json            a JSON summary on stdout\n"
            "  -P, --progress        progress on stderr (the default when it is a terminal)\n"
            "\n"
            "Exit status: 0 done, 1 failed (nothing usable is left in DIR), 2 bad usage.\n");
}

int ctl_cmd_backup(CtlOptions *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"server", required_argument, NULL, 's'},  {"timeout", required_argument, NULL, 't'},
        {"output", required_argument, NULL, 'o'},  {"token-file", required_argument, NULL, 'T'},
        {"json", no_argument, NULL, 'j'},          {"progress", no_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *out = NULL, *token_file = NULL;
    int json = 0, progress = isatty(2), c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "s:t:o:jPh", longopts, NULL)) != -1) {
        switch (c) {
        case 's': o->server = optarg; break;
        case 't':
            o->timeout_ms = atoi(optarg);
            if (o->timeout_ms < 1)
                return ctl_usage_error("--timeout must be a number of milliseconds");
            break;
        case 'o': out = optarg; break;
        case 'T': token_file = optarg; break;
        case 'j': json = 1; break;
        case 'P': progress = 1; break;
        case 'h': backup_usage(stdout); return CTL_EXIT_OK;
        default: return ctl_usage_error("backup: unknown option or missing argument \"%s\"", argv[optind - 1]);
        }
    }
    if (!out || optind < argc)
        return ctl_usage_error("backup needs -s HOST:ADMIN_PORT and -o DIR");
    CtlServer srv;
    char err[2 * PATH_MAX];
    if (ctl_parse_server(o->server, &srv, err, sizeof err) < 0)
        return ctl_usage_error("%s", err);
    if (!dd_dir_empty(out))
        return ctl_fail("%s exists and is not empty: a backup goes to a new directory", out);
    int terr;
    char *token = ctl_admin_token(token_file, &terr);
    if (terr)
        return CTL_EXIT_FAIL;

    long long t0 = ctl_now_ms();
    /* What the member is (for the manifest). */
    char version[200] = "", mode[40] = "";
    CtlHttp h;
    if (ctl_http_get(&srv, "/commands/srvr", NULL, o->timeout_ms, &h) == 0) {
        json_find_str(h.body, h.body_len, "version", version, sizeof version);
        json_find_str(h.body, h.body_len, "server_state", mode, sizeof mode);
        ctl_http_free(&h);
    }
    if (progress)
        fprintf(stderr, "backup of %s (%s): taking the snapshot...\n", srv.label, mode[0] ? mode : "?");
    CtlSnapshot sn;
    int rc = ctl_fetch_snapshot(&srv, token, o->timeout_ms, 3, &sn);
    free(token);
    if (rc < 0)
        return CTL_EXIT_FAIL;
    if (progress)
        fprintf(stderr, "backup of %s: snapshot at zxid 0x%" PRIx64 ", %zu bytes, %" PRIu64 " znodes; writing %s...\n",
                srv.label, (uint64_t)sn.zxid, sn.len, sn.nnodes, out);
    if (mkdir(out, 0755) < 0 && errno != EEXIST) {
        free(sn.data);
        return ctl_fail("cannot create %s: %s", out, strerror(errno));
    }
    char name[64], path[2 * PATH_MAX];
    walf_snap_name(name, sizeof name, sn.zxid, "zst");
    snprintf(path, sizeof path, "%s/%s", out, name);
    uint64_t size = 0;
    rc = ctl_write_snapshot_file(path, &sn, &size, err, sizeof err);
    free(sn.data);
    if (rc < 0)
        return ctl_fail("%s", err);
    uint32_t crc;
    if (ctl_file_crc32c(path, &crc, &size, err, sizeof err) < 0)
        return ctl_fail("%s", err);

    /* The manifest: one field or file per line, its own CRC32C last. */
    char created[40];
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    fmt_time(created, sizeof created, now_ms);
    CorralStrbuf m = CORRAL_STRBUF_INIT;
    corral_strbuf_printf(&m, "{\"corral_backup_manifest\": %d,\n", MANIFEST_FORMAT);
    corral_strbuf_puts(&m, "\"server\": ");
    json_cstr(&m, srv.label);
    corral_strbuf_puts(&m, ",\n\"server_version\": ");
    json_cstr(&m, version);
    corral_strbuf_puts(&m, ",\n\"mode\": ");
    json_cstr(&m, mode);
    corral_strbuf_printf(&m, ",\n\"start_zxid\": \"0x%" PRIx64 "\",\n\"end_zxid\": \"0x%" PRIx64 "\",\n",
                         (uint64_t)sn.zxid, (uint64_t)sn.zxid);
    corral_strbuf_printf(&m, "\"created\": \"%s\",\n\"created_ms\": %lld,\n", created, (long long)now_ms);
    corral_strbuf_printf(&m, "\"znodes\": %" PRIu64 ",\n\"sessions\": %" PRIu64 ",\n", sn.nnodes, sn.nsessions);
    corral_strbuf_puts(&m, "\"files\": [\n");
    corral_strbuf_printf(&m, "{\"path\": \"%s\", \"size\": %" PRIu64 ", \"crc32c\": \"0x%08x\", \"zxid\": \"0x%" PRIx64
                         "\"}\n],\n", name, size, crc, (uint64_t)sn.zxid);
    corral_strbuf_printf(&m, "\"manifest_crc32c\": \"0x%08x\"}\n", walf_crc32c(0, m.data, m.len));
    snprintf(path, sizeof path, "%s/%s", out, MANIFEST);
    FILE *f = fopen(path, "w");
    if (!f || fwrite(m.data, 1, m.len, f) != m.len || fflush(f) != 0 || fsync(fileno(f)) < 0) {
        int e = errno;
        if (f)
            fclose(f);
        corral_strbuf_free(&m);
        return ctl_fail("cannot write %s: %s", path, strerror(e));
    }
    fclose(f);
    corral_strbuf_free(&m);
    if (dd_fsync_path(out, err, sizeof err) < 0)
        return ctl_fail("%s", err);
    long long ms = ctl_now_ms() - t0;
    if (json) {
        CorralStrbuf sb = CORRAL_STRBUF_INIT;
        corral_strbuf_puts(&sb, "{");
        json_kstr(&sb, "backup", out);
        json_kstr(&sb, "server", srv.label);
        json_kstr(&sb, "server_version", version);
        json_kstr(&sb, "mode", mode);
        json_khex(&sb, "start_zxid", sn.zxid);
        json_khex(&sb, "end_zxid", sn.zxid);
        json_kint(&sb, "znodes", (int64_t)sn.nnodes);
        json_kint(&sb, "bytes", (int64_t)size);
        json_kint(&sb, "elapsed_ms", ms);
        corral_strbuf_puts(&sb, "}");
        emit(&sb);
        corral_strbuf_free(&sb);
    } else {
        printf("backup of %s (%s) in %s: end zxid 0x%" PRIx64 ", %" PRIu64 " znodes, %" PRIu64 " bytes, %lld ms\n",
               srv.label, mode[0] ? mode : "?", out, (uint64_t)sn.zxid, sn.nnodes, size, ms);
    }
    return CTL_EXIT_OK;
}
