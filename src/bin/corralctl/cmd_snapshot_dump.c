/*
 * src/bin/corralctl/cmd_snapshot_dump.c: corralctl snapshot-dump FILE [--json] [--data].
 * (see storage_tool.c for the shared code and doc/storage-tools.md).
 */
#include "storage_tool.h"

/* ---- snapshot-dump ------------------------------------------------------- */

static void snapshot_dump_usage(FILE *f)
{
    fprintf(f,
            "Usage: corralctl snapshot-dump FILE [--json] [--data]\n"
            "\n"
            "Prints a storage_file snapshot (snapshot.<zxid>.zst, or a *.corrupt one):\n"
            "its header (zxid, sizes, checksums), the sessions, the ACL table, then\n"
            "every znode path with its stat, in pre-order, like zkSnapShotToolkit.\n"
            "Every check of recovery is applied first (header CRC, payload CRC32C,\n"
            "zstd content checksum and size) and the payload's structure is checked.\n"
            "  -d, --data   show each znode's data too (text: printable, cut after\n"
            "               64 bytes; JSON: complete)\n"
            "  -j, --json   one JSON object per line instead (see doc/storage-tools.md)\n"
            "\n"
            "Exit status: 0 the snapshot is sound; 1 it fails a check or cannot be\n"
            "read; 2 bad usage.\n");
}

static void stat_text(CorralStrbuf *sb, const SnapNode *n, int32_t nchildren)
{
    char t1[40], t2[40];
    fmt_time(t1, sizeof t1, n->st.ctime);
    fmt_time(t2, sizeof t2, n->st.mtime);
    corral_strbuf_printf(sb,
                         "  cZxid = 0x%" PRIx64 "\n  ctime = %s\n  mZxid = 0x%" PRIx64 "\n  mtime = %s\n"
                         "  pZxid = 0x%" PRIx64 "\n  cversion = %d\n  dataVersion = %d\n  aclVersion = %d\n"
                         "  ephemeralOwner = 0x%" PRIx64,
                         (uint64_t)n->st.czxid, t1, (uint64_t)n->st.mzxid, t2, (uint64_t)n->st.pzxid, n->st.cversion,
                         n->st.version, n->st.aversion, (uint64_t)n->st.ephemeralOwner);
    if (n->st.ephemeralOwner == OWNER_CONTAINER)
        corral_strbuf_puts(sb, " (container)");
    else if (OWNER_IS_TTL(n->st.ephemeralOwner))
        corral_strbuf_printf(sb, " (ttl %" PRIu64 " ms)", (uint64_t)((uint64_t)n->st.ephemeralOwner & 0xFFFFFFFFFFULL));
    corral_strbuf_printf(sb, "\n  dataLength = %d\n  numChildren = %d\n  aclRef = %d", n->data.len < 0 ? 0 : n->data.len,
                         nchildren, n->aclref);
}

int ctl_cmd_snapshot_dump(CtlOptions *o, int argc, char **argv)
{
    Args a;
    int pr = parse_args(argc, argv, 1, snapshot_dump_usage, &a);
    if (pr)
        return pr > 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
    (void)o;
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    WalfSnapHeader h;
    void *data = NULL;
    size_t len = 0;
    char err[300];
    int r = walf_snapshot_read(a.path, &h, &data, &len, err, sizeof err);
    if (r == -1)
        return ctl_fail("cannot read snapshot %s: %s", a.path, err);
    if (r == -2)
        return ctl_fail("snapshot %s is corrupt (%s)", a.path, err);
    int64_t name_zxid;
    const char *base = strrchr(a.path, '/');
    base = base ? base + 1 : a.path;
    int name_ok = walf_parse_snap_name(base, &name_zxid) == 0 ||
                  (has_suffix(base, ".zst.corrupt") && strlen(base) == 25 + 4 + 8 &&
                   sscanf(base, "snapshot.%16" SCNx64 ".zst.corrupt", (uint64_t *)&name_zxid) == 1);
    if (name_ok && name_zxid != h.last_zxid) {
        free(data);
        return ctl_fail("snapshot %s is corrupt (its header says zxid 0x%" PRIx64 ")", a.path, (uint64_t)h.last_zxid);
    }
    SnapPayload sp;
    char why[300];
    if (parse_payload(data, len, h.last_zxid, &sp, why, sizeof why) < 0) {
        payload_free(&sp);
        free(data);
        return ctl_fail("snapshot %s: the server could not load it: %s", a.path, why);
    }

    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    char ct[40];
    fmt_time(ct, sizeof ct, h.created_ms);
    if (a.json) {
        corral_strbuf_puts(&sb, "{");
        json_kstr(&sb, "kind", "header");
        json_kstr(&sb, "file", a.path);
        json_kint(&sb, "version", h.version);
        json_khex(&sb, "last_zxid", h.last_zxid);
        json_kint(&sb, "created_ms", h.created_ms);
        json_kstr(&sb, "created", ct);
        json_kint(&sb, "zstd_level", h.level);
        json_kint(&sb, "compressed_bytes", (int64_t)h.comp_len);
        json_kint(&sb, "uncompressed_bytes", (int64_t)h.raw_len);
        json_key(&sb, "payload_crc32c");
        corral_strbuf_printf(&sb, "\"0x%08x\"", h.payload_crc);
        json_kbool(&sb, "checks_ok", 1);
        json_kint(&sb, "sessions", sp.nsessions);
        json_kint(&sb, "acls", sp.nacls);
        json_kint(&sb, "znodes", (int64_t)sp.nnodes);
        json_kint(&sb, "data_bytes", (int64_t)sp.data_bytes);
        json_kint(&sb, "ephemerals", (int64_t)sp.ephemerals);
        json_kint(&sb, "containers", (int64_t)sp.containers);
        json_kint(&sb, "ttl_nodes", (int64_t)sp.ttls);
        json_khex(&sb, "digest", sp.digest);
        corral_strbuf_puts(&sb, "}");
        emit(&sb);
    } else {
        corral_strbuf_printf(&sb, "Snapshot %s\n", a.path);
        corral_strbuf_printf(&sb, "  format %u, last zxid 0x%" PRIx64 ", created %s, zstd level %u\n", h.version,
                             (uint64_t)h.last_zxid, ct, h.level);
        corral_strbuf_printf(&sb,
                             "  %" PRIu64 " bytes compressed, %" PRIu64 " uncompressed; header CRC32C ok, payload "
                             "CRC32C 0x%08x ok, zstd checksum ok\n",
                             h.comp_len, h.raw_len, h.payload_crc);
        corral_strbuf_printf(&sb,
                             "  %d sessions, %d ACLs, %" PRIu64 " znodes (%" PRIu64 " ephemeral, %" PRIu64
                             " containers, %" PRIu64 " TTL), %" PRIu64 " data bytes, digest 0x%016" PRIx64 "\n",
                             sp.nsessions, sp.nacls, sp.nnodes, sp.ephemerals, sp.containers, sp.ttls, sp.data_bytes,
                             (uint64_t)sp.digest);
        corral_strbuf_printf(&sb, "Session Details (sid, timeout, ephemeralCount):");
        emit(&sb);
    }
    for (int32_t i = 0; i < sp.nsessions; i++) {
        const SnapSession *s = &sp.sessions[i];
        if (a.json) {
            corral_strbuf_puts(&sb, "{");
            json_kstr(&sb, "kind", "session");
            json_khex(&sb, "id", s->id);
            json_kint(&sb, "timeout", s->timeout);
            json_kint(&sb, "ephemerals", s->ephemerals);
            corral_strbuf_puts(&sb, "}");
        } else {
            corral_strbuf_printf(&sb, "  0x%016" PRIx64 ", %d, %" PRId64, (uint64_t)s->id, s->timeout, s->ephemerals);
        }
        emit(&sb);
    }
    if (!a.json) {
        corral_strbuf_puts(&sb, "ACLs (ref: entries perms:scheme:id):");
        emit(&sb);
    }
    for (int32_t i = 0; i < sp.nacls; i++) {
        if (a.json) {
            corral_strbuf_puts(&sb, "{");
            json_kstr(&sb, "kind", "acl");
            json_kint(&sb, "ref", sp.acls[i].ref);
            json_key(&sb, "acl");
            acl_entries(&sp, &sp.acls[i], &sb, 1);
            corral_strbuf_puts(&sb, "}");
        } else {
            corral_strbuf_printf(&sb, "  %d: ", sp.acls[i].ref);
            acl_entries(&sp, &sp.acls[i], &sb, 0);
        }
        emit(&sb);
    }
    if (!a.json) {
        corral_strbuf_printf(&sb, "ZNode Details (count=%" PRIu64 "):", sp.nnodes);
        emit(&sb);
    }
    RBuf rb;
    rbuf_init(&rb, data, len);
    rb.pos = sp.nodes_off;
    for (uint64_t i = 0; i < sp.nnodes; i++) {
        SnapNode n;
        read_node(&rb, &n);
        if (a.json) {
            corral_strbuf_puts(&sb, "{");
            json_kstr(&sb, "kind", "znode");
            json_key(&sb, "path");
            json_text(&sb, n.path.data, n.path.len);
            json_key(&sb, "stat");
            corral_strbuf_puts(&sb, "{");
            json_khex(&sb, "czxid", n.st.czxid);
            json_khex(&sb, "mzxid", n.st.mzxid);
            json_khex(&sb, "pzxid", n.st.pzxid);
            json_kint(&sb, "ctime", n.st.ctime);
            json_kint(&sb, "mtime", n.st.mtime);
            json_kint(&sb, "version", n.st.version);
            json_kint(&sb, "cversion", n.st.cversion);
            json_kint(&sb, "aversion", n.st.aversion);
            json_khex(&sb, "ephemeralOwner", n.st.ephemeralOwner);
            json_kint(&sb, "dataLength", n.data.len < 0 ? 0 : n.data.len);
            json_kint(&sb, "numChildren", sp.nchildren[i]);
            corral_strbuf_puts(&sb, "}");
            json_kint(&sb, "aclref", n.aclref);
            if (a.data) {
                json_key(&sb, "data");
                json_bytes(&sb, n.data.data, n.data.len);
            }
            corral_strbuf_puts(&sb, "}");
        } else {
            corral_strbuf_puts(&sb, "----\n");
            corral_strbuf_append(&sb, n.path.data, (size_t)n.path.len);
            corral_strbuf_puts(&sb, "\n");
            stat_text(&sb, &n, sp.nchildren[i]);
            if (a.data) {
                corral_strbuf_puts(&sb, "\n  data = ");
                text_bytes(&sb, n.data, TEXT_DATA_MAX);
            }
        }
        emit(&sb);
    }
    if (!a.json) {
        corral_strbuf_printf(&sb, "----\nLast zxid: 0x%" PRIx64, (uint64_t)h.last_zxid);
        emit(&sb);
    }
    corral_strbuf_free(&sb);
    payload_free(&sp);
    free(data);
    if (fflush(stdout) != 0)
        return ctl_fail("cannot write: %s", strerror(errno));
    return CTL_EXIT_OK;
}

