/*
 * regress/fuzz/make_seeds.c: writes the seed corpora of the fuzz harnesses
 * (regress/fuzz/corpus/<harness>/seed-*) from real encodings: client
 * frames and connect requests written with the jute codec's writers,
 * transactions as the write path encodes them, snapshots serialised by
 * snapshot.c from a state those transactions built, WAL segments and
 * snapshot files written with storage_file's encoders, peer frames with
 * zab_msg.c's encoders, and the shipped configuration files.
 *
 *   make fuzz-seeds            (runs $(BUILD)/fuzz/make_seeds regress/fuzz/corpus)
 *
 * The output is deterministic (fixed times, ids and zxids), so running it
 * again changes nothing unless an encoding changed.  It only writes
 * seed-* files: the regress-* inputs (crashes found and fixed) are kept by
 * hand.  Built with the ordinary compiler and libraries, not libFuzzer.
 */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#include "fuzz_server.h"

#include "../../src/modules/storage_file/wal_format.h"
#include "wire/wire_connect.h"
#include "zab/zab_int.h"
#include "zab/zab_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return 0; }
int LLVMFuzzerInitialize(int *argc, char ***argv) { return 0; }

static const char *outdir;
static int nwritten;

static void put_file(const char *harness, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", outdir, harness);
    if (mkdir(path, 0777) < 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/seed-%s", outdir, harness, name);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    nwritten++;
}

static void put_wbuf(const char *harness, const char *name, const WBuf *w) { put_file(harness, name, w->data, w->len); }

/* ---- records shared by several corpora ------------------------------------ */

static ZkBytes S(const char *s) { return zk_bytes_cstr(s); }

static ACL acl_open[] = {{0x1f, {{"world", 5}, {"anyone", 6}}}};
static ACL acl_mixed[] = {{0x1f, {{"digest", 6}, {"bob:Vmsz3TTZ4hB5ukM7KN3fzbGaS6o=", 33}}},
                          {0x01, {{"ip", 2}, {"10.0.0.0/8", 10}}},
                          {0x11, {{"world", 5}, {"anyone", 6}}}};
static JuteVec_ACL OPEN = {1, acl_open};
static JuteVec_ACL MIXED = {3, acl_mixed};

#define SID 0x0100000000000001LL
#define SID2 0x0100000000000002LL
#define T0 1700000000000LL

/* ---- jute: client frames after the handshake --------------------------------- */

/* One request frame: RequestHeader, then the record T. */
#define REQ(w, xid, op, T, ...) \
    do { \
        size_t off_ = wbuf_begin_frame(w); \
        RequestHeader h_ = {xid, op}; \
        jute_write_RequestHeader(w, &h_); \
        T r_ = __VA_ARGS__; \
        jute_write_##T(w, &r_); \
        wbuf_end_frame(w, off_); \
    } while (0)

static void bare(WBuf *w, int32_t xid, int32_t op)
{
    size_t off = wbuf_begin_frame(w);
    RequestHeader h = {xid, op};
    jute_write_RequestHeader(w, &h);
    wbuf_end_frame(w, off);
}

static void multi_op(WBuf *w, int32_t op)
{
    MultiHeader mh = {op, false, -1};
    jute_write_MultiHeader(w, &mh);
}

static void multi_end(WBuf *w)
{
    MultiHeader mh = {-1, true, -1};
    jute_write_MultiHeader(w, &mh);
}

static void jute_seeds(void)
{
    WBuf w = WBUF_INIT;
#define ONE(name, ...) \
    do { \
        wbuf_reset(&w); \
        __VA_ARGS__; \
        put_wbuf("jute", name, &w); \
    } while (0)
    ONE("create", REQ(&w, 1, ZOO_OP_CREATE, CreateRequest, {S("/app"), S("hello"), OPEN, 0}));
    ONE("create-seq-eph", REQ(&w, 2, ZOO_OP_CREATE, CreateRequest, {S("/app/lock-"), S(""), MIXED, 3}));
    ONE("create2", REQ(&w, 3, ZOO_OP_CREATE2, CreateRequest, {S("/a/b"), ZK_BYTES_NULL, OPEN, 0}));
    ONE("create-container", REQ(&w, 4, ZOO_OP_CREATE_CONTAINER, CreateRequest, {S("/c"), S("x"), OPEN, 4}));
    ONE("create-ttl", REQ(&w, 5, ZOO_OP_CREATE_TTL, CreateTTLRequest, {S("/t"), S("x"), OPEN, 5, 60000}));
    ONE("delete", REQ(&w, 6, ZOO_OP_DELETE, DeleteRequest, {S("/app"), -1}));
    ONE("exists", REQ(&w, 7, ZOO_OP_EXISTS, ExistsRequest, {S("/app"), true}));
    ONE("getdata", REQ(&w, 8, ZOO_OP_GETDATA, GetDataRequest, {S("/zookeeper/config"), false}));
    ONE("setdata", REQ(&w, 9, ZOO_OP_SETDATA, SetDataRequest, {S("/app"), S("world"), 3}));
    ONE("getacl", REQ(&w, 10, ZOO_OP_GETACL, GetACLRequest, {S("/")}));
    ONE("setacl", REQ(&w, 11, ZOO_OP_SETACL, SetACLRequest, {S("/app"), MIXED, -1}));
    ONE("getchildren", REQ(&w, 12, ZOO_OP_GETCHILDREN, GetChildrenRequest, {S("/"), true}));
    ONE("getchildren2", REQ(&w, 13, ZOO_OP_GETCHILDREN2, GetChildren2Request, {S("/zookeeper"), false}));
    ONE("sync", REQ(&w, 14, ZOO_OP_SYNC, SyncRequest, {S("/")}));
    ONE("check", REQ(&w, 15, ZOO_OP_CHECK, CheckVersionRequest, {S("/app"), 2}));
    ONE("checkwatches", REQ(&w, 16, ZOO_OP_CHECK_WATCHES, CheckWatchesRequest, {S("/app"), 1}));
    ONE("removewatches", REQ(&w, 17, ZOO_OP_REMOVE_WATCHES, RemoveWatchesRequest, {S("/app"), 3}));
    ONE("addwatch", REQ(&w, 18, ZOO_OP_ADD_WATCH, AddWatchRequest, {S("/app"), 1}));
    ONE("getephemerals", REQ(&w, 19, ZOO_OP_GET_EPHEMERALS, GetEphemeralsRequest, {S("/app")}));
    ONE("allchildren", REQ(&w, 20, ZOO_OP_GET_ALL_CHILDREN_NUMBER, GetAllChildrenNumberRequest, {S("/")}));
    ONE("whoami", bare(&w, 21, ZOO_OP_WHOAMI));
    ONE("ping", bare(&w, XID_PING, ZOO_OP_PING));
    ONE("close", bare(&w, 22, ZOO_OP_CLOSE_SESSION));
    ONE("reconfig", REQ(&w, 23, ZOO_OP_RECONFIG, ReconfigRequest,
                        {S("server.4=10.0.0.4:2888:3888;2181"), ZK_BYTES_NULL, ZK_BYTES_NULL, -1}));
    ONE("unknown-op", bare(&w, 24, 999));
    ONE("auth-digest", REQ(&w, XID_AUTH, ZOO_OP_AUTH, AuthPacket, {0, S("digest"), S("bob:secret")}));
    ONE("sasl", REQ(&w, 25, ZOO_OP_SASL, GetSASLRequest, {{"\x60\x82\x01\x00token", 11}}));
    {
        static ZkBytes d[] = {{"/a", 2}, {"/b/c", 4}}, e[] = {{"/x", 2}}, c[] = {{"/", 1}};
        ONE("setwatches", REQ(&w, XID_SET_WATCHES, ZOO_OP_SET_WATCHES, SetWatches,
                              {0x100000005LL, {2, d}, {1, e}, {1, c}}));
        ONE("setwatches2", REQ(&w, XID_SET_WATCHES, ZOO_OP_SET_WATCHES2, SetWatches2,
                               {0x100000005LL, {2, d}, {1, e}, {1, c}, {1, e}, {0, NULL}}));
    }
    /* multi: every write op, then done */
    {
        wbuf_reset(&w);
        size_t off = wbuf_begin_frame(&w);
        RequestHeader h = {30, ZOO_OP_MULTI};
        jute_write_RequestHeader(&w, &h);
        multi_op(&w, ZOO_OP_CREATE);
        jute_write_CreateRequest(&w, &(CreateRequest){S("/m"), S("1"), OPEN, 0});
        multi_op(&w, ZOO_OP_CREATE_TTL);
        jute_write_CreateTTLRequest(&w, &(CreateTTLRequest){S("/m/t"), S(""), OPEN, 5, 1000});
        multi_op(&w, ZOO_OP_SETDATA);
        jute_write_SetDataRequest(&w, &(SetDataRequest){S("/m"), S("2"), 0});
        multi_op(&w, ZOO_OP_CHECK);
        jute_write_CheckVersionRequest(&w, &(CheckVersionRequest){S("/m"), 1});
        multi_op(&w, ZOO_OP_SETACL);
        jute_write_SetACLRequest(&w, &(SetACLRequest){S("/m"), MIXED, -1});
        multi_op(&w, ZOO_OP_DELETE);
        jute_write_DeleteRequest(&w, &(DeleteRequest){S("/m/t"), -1});
        multi_end(&w);
        wbuf_end_frame(&w, off);
        put_wbuf("jute", "multi", &w);

        wbuf_reset(&w);
        off = wbuf_begin_frame(&w);
        h = (RequestHeader){31, ZOO_OP_MULTI_READ};
        jute_write_RequestHeader(&w, &h);
        multi_op(&w, ZOO_OP_GETDATA);
        jute_write_GetDataRequest(&w, &(GetDataRequest){S("/m"), false});
        multi_op(&w, ZOO_OP_GETCHILDREN);
        jute_write_GetChildrenRequest(&w, &(GetChildrenRequest){S("/"), false});
        multi_end(&w);
        wbuf_end_frame(&w, off);
        put_wbuf("jute", "multiread", &w);
    }
    /* a pipelined session: several frames back to back */
    ONE("pipeline", REQ(&w, XID_AUTH, ZOO_OP_AUTH, AuthPacket, {0, S("digest"), S("bob:secret")});
        REQ(&w, 1, ZOO_OP_CREATE, CreateRequest, {S("/p"), S("v"), OPEN, 2});
        REQ(&w, 2, ZOO_OP_GETDATA, GetDataRequest, {S("/p"), true});
        REQ(&w, 3, ZOO_OP_SETDATA, SetDataRequest, {S("/p"), S("w"), 0}); bare(&w, XID_PING, ZOO_OP_PING);
        bare(&w, 4, ZOO_OP_CLOSE_SESSION));
#undef ONE
    wbuf_free(&w);
}

/* ---- connect: the first frame's body --------------------------------------- */

static void connect_seeds(void)
{
    static const char pw[16] = "0123456789abcdef";
    WBuf w = WBUF_INIT;
    ConnectRequest fresh = {0, 0, 30000, 0, {pw, 16}}, resume = {0, 0x200000010LL, 10000, SID, {pw, 16}};
    wire_write_connect_request(&w, &fresh, 0);
    put_wbuf("connect", "request", &w);
    wbuf_reset(&w);
    wire_write_connect_request(&w, &fresh, -1);
    put_wbuf("connect", "request-old-client", &w);
    wbuf_reset(&w);
    wire_write_connect_request(&w, &resume, 1);
    put_wbuf("connect", "request-resume-readonly", &w);
    wbuf_reset(&w);
    ConnectResponse resp = {0, 30000, SID, {pw, 16}};
    wire_write_connect_response(&w, &resp, 0);
    put_wbuf("connect", "response", &w);
    wbuf_reset(&w);
    resp.sessionId = 0;
    resp.timeOut = 0;
    wire_write_connect_response(&w, &resp, -1);
    put_wbuf("connect", "response-expired", &w);
    wbuf_free(&w);
}

/* ---- config: the shipped files, the built-in one, and module sections ------ */

static void put_text(const char *harness, const char *name, const char *text)
{
    put_file(harness, name, text, strlen(text));
}

static void config_seeds(const char *config_dir)
{
    DIR *d = opendir(config_dir);
    if (!d) {
        perror(config_dir);
        exit(1);
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".yaml") != 0)
            continue;
        char path[512], buf[65536];
        snprintf(path, sizeof path, "%s/%s", config_dir, e->d_name);
        FILE *f = fopen(path, "rb");
        size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (!f || ferror(f)) {
            perror(path);
            exit(1);
        }
        fclose(f);
        put_file("config", e->d_name, buf, len);
    }
    closedir(d);
    put_text("config", "builtin.yaml", corral_builtin_config);
    put_text("config", "modules.yaml",
             "server:\n"
             "  id: 3\n"
             "  data_dir: /var/lib/corral\n"
             "  client_listen: \"[::1]:2181\"\n"
             "  tick_ms: 500\n"
             "  min_session_timeout_ms: 1000\n"
             "  max_session_timeout_ms: 60000\n"
             "  extended_types: yes\n"
             "  read_only: off\n"
             "  log_level: debug\n"
             "  max_connections: 500\n"
             "  max_reply_bytes: 2000000\n"
             "  max_output_bytes: 8388608\n"
             "  sessionless_timeout_ms: 5000\n"
             "  max_watches_per_session: 1000\n"
             "  throttle_error: not_read_only\n"
             "module_path: [/usr/lib/corral/modules, ./build/modules]\n"
             "modules:\n"
             "  storage_file: {fsync: true, snapshot_every_txns: 100000, keep_snapshots: 3, zstd_level: 3}\n"
             "  auth_digest:\n"
             "    super_digest: \"super:D/InIHSb7yEEbrWz8b9l71RjZJU=\"\n"
             "  fourlw:\n"
             "    max_answer_bytes: 65536\n"
             "  metrics_prometheus: &m\n"
             "    listen: 127.0.0.1:7000\n"
             "  admin_http: *m\n");
    put_text("config", "ensemble-observer.yaml",
             "server: {id: 4, tick_ms: 100, init_limit: 10, sync_limit: 5, peer_timeout_ms: 2000,\n"
             "         zab_start_counter: 4294967000, max_sessions: 100, max_request_bytes: 4096}\n"
             "ensemble:\n"
             "  - {id: 1, peer: 127.0.0.11:2888, election: 127.0.0.11:3888}\n"
             "  - {id: 2, peer: 127.0.0.12:2888, election: 127.0.0.12:3888, role: participant}\n"
             "  - {id: 3, peer: 127.0.0.13:2888, election: 127.0.0.13:3888}\n"
             "  - {id: 4, peer: \"[::1]:2888\", election: localhost:3888, role: observer}\n");
}

/* ---- transactions --------------------------------------------------------- */

typedef struct TxnList {
    WBuf all;      /* for the txn corpus: 2-byte length + txn, back to back */
    WBuf one;      /* the txn being built */
    int64_t zxid;
} TxnList;

static void txn_begin(TxnList *l, int64_t client, int32_t type)
{
    wbuf_reset(&l->one);
    TxnHeader h = {client, 7, ++l->zxid, T0 + l->zxid, type};
    jute_write_TxnHeader(&l->one, &h);
}

/* Ends the txn: applies it to srv (to build a state to snapshot) and keeps it. */
static void txn_end(TxnList *l)
{
    uint8_t len[2] = {(uint8_t)(l->one.len >> 8), (uint8_t)l->one.len};
    wbuf_put_raw(&l->all, len, 2);
    wbuf_put_raw(&l->all, l->one.data, l->one.len);
    Arena a;
    arena_init(&a, 4096);
    TxnResult res;
    FUZZ_CHECK(txn_apply(l->one.data, l->one.len, &a, &res) == 0);
    arena_free(&a);
}

static void create(TxnList *l, int64_t client, const char *path, const char *data, JuteVec_ACL acl, int eph,
                   int32_t pcv)
{
    txn_begin(l, client, ZOO_OP_CREATE);
    jute_write_CreateTxn(&l->one, &(CreateTxn){S(path), S(data), acl, eph, pcv});
    txn_end(l);
}

/* A session with ephemerals, containers, TTL nodes, ACLs, quotas, a multi,
 * an error txn, a closed session: the transactions and the state. */
static void build_history(TxnList *l)
{
    txn_begin(l, SID, ZOO_OP_CREATE_SESSION);
    jute_write_CreateSessionTxn(&l->one, &(CreateSessionTxn){30000});
    txn_end(l);
    txn_begin(l, SID2, ZOO_OP_CREATE_SESSION);
    jute_write_CreateSessionTxn(&l->one, &(CreateSessionTxn){4000});
    txn_end(l);
    create(l, SID, "/app", "config", OPEN, 0, 1);
    create(l, SID, "/app/a", "", MIXED, 0, 1);
    create(l, SID2, "/app/lock-0000000002", "me", OPEN, 1, 2);
    txn_begin(l, SID, ZOO_OP_CREATE_CONTAINER);
    jute_write_CreateContainerTxn(&l->one, &(CreateContainerTxn){S("/jobs"), S(""), OPEN, 4});
    txn_end(l);
    txn_begin(l, SID, ZOO_OP_CREATE_TTL);
    jute_write_CreateTTLTxn(&l->one, &(CreateTTLTxn){S("/jobs/t"), S("ttl"), OPEN, 1, 60000});
    txn_end(l);
    create(l, SID, "/zookeeper/quota/app", "", OPEN, 0, 1);
    create(l, SID, "/zookeeper/quota/app/zookeeper_limits", "count=10,bytes=1000", OPEN, 0, 1);
    create(l, SID, "/zookeeper/quota/app/zookeeper_stats", "count=3,bytes=8", OPEN, 0, 2);
    txn_begin(l, SID, ZOO_OP_SETDATA);
    jute_write_SetDataTxn(&l->one, &(SetDataTxn){S("/app"), S("config-2"), 1});
    txn_end(l);
    txn_begin(l, SID, ZOO_OP_SETACL);
    jute_write_SetACLTxn(&l->one, &(SetACLTxn){S("/app/a"), OPEN, 1});
    txn_end(l);
    txn_begin(l, SID, ZOO_OP_ERROR);
    jute_write_ErrorTxn(&l->one, &(ErrorTxn){ZERR_NONODE});
    txn_end(l);
    {
        /* a multi: create + setData + check */
        WBuf sub = WBUF_INIT;
        size_t o1, o2;
        jute_write_CreateTxn(&sub, &(CreateTxn){S("/app/m"), S("1"), OPEN, 0, 3});
        o1 = sub.len;
        jute_write_SetDataTxn(&sub, &(SetDataTxn){S("/app/m"), S("2"), 1});
        o2 = sub.len;
        jute_write_CheckVersionTxn(&sub, &(CheckVersionTxn){S("/app"), 1});
        Txn items[3] = {{ZOO_OP_CREATE, {(const char *)sub.data, (int32_t)o1}},
                        {ZOO_OP_SETDATA, {(const char *)sub.data + o1, (int32_t)(o2 - o1)}},
                        {ZOO_OP_CHECK, {(const char *)sub.data + o2, (int32_t)(sub.len - o2)}}};
        txn_begin(l, SID, ZOO_OP_MULTI);
        jute_write_MultiTxn(&l->one, &(MultiTxn){{3, items}});
        txn_end(l);
        wbuf_free(&sub);
    }
    {
        /* a failed multi: one ErrorTxn per op */
        WBuf sub = WBUF_INIT;
        jute_write_ErrorTxn(&sub, &(ErrorTxn){0});
        jute_write_ErrorTxn(&sub, &(ErrorTxn){ZERR_BADVERSION});
        Txn items[2] = {{ZOO_OP_ERROR, {(const char *)sub.data, 4}}, {ZOO_OP_ERROR, {(const char *)sub.data + 4, 4}}};
        txn_begin(l, SID, ZOO_OP_MULTI);
        jute_write_MultiTxn(&l->one, &(MultiTxn){{2, items}});
        txn_end(l);
        wbuf_free(&sub);
    }
    txn_begin(l, SID, ZOO_OP_DELETE);
    jute_write_DeleteTxn(&l->one, &(DeleteTxn){S("/app/m")});
    txn_end(l);
    {
        static ZkBytes eph[] = {{"/app/lock-0000000002", 20}};
        txn_begin(l, SID2, ZOO_OP_CLOSE_SESSION);
        jute_write_CloseSessionTxn(&l->one, &(CloseSessionTxn){{1, eph}});
        txn_end(l);
    }
    create(l, SID, "/app/eph", "", OPEN, 1, 5);
}

/* Every txn of the history as its own input, and the whole history. */
static void txn_seeds(TxnList *l)
{
    put_wbuf("txn", "history", &l->all);
    size_t off = 0;
    int i = 0;
    while (off < l->all.len) {
        size_t len = (size_t)l->all.data[off] << 8 | l->all.data[off + 1];
        char name[32];
        snprintf(name, sizeof name, "txn-%02d", ++i);
        put_file("txn", name, l->all.data + off, 2 + len);
        off += 2 + len;
    }
}

/* ---- snapshots: the core's bytes, and storage_file's files ---------------- */

static void snapshot_file(const char *name, int64_t zxid, const WBuf *payload)
{
    char path[64], err[256];
    int fd = fuzz_file(NULL, 0, path, sizeof path);
    FUZZ_CHECK(walf_snapshot_write(fd, zxid, payload->data, payload->len, 3, NULL, err, sizeof err) == 0);
    struct stat st;
    FUZZ_CHECK(fstat(fd, &st) == 0);
    uint8_t *f = malloc((size_t)st.st_size + 1);
    FUZZ_CHECK(pread(fd, f + 1, (size_t)st.st_size, 0) == st.st_size);
    /* The creation time, made fixed (and the header CRC with it). */
    WalfSnapHeader h;
    FUZZ_CHECK(walf_snap_header_decode(f + 1, (size_t)st.st_size, &h, err, sizeof err) == 0);
    h.created_ms = T0;
    walf_snap_header_encode(f + 1, &h);
    char fname[64];
    f[0] = 0;   /* flags: the file as it is */
    snprintf(fname, sizeof fname, "%s", name);
    put_file("snapfile", fname, f, (size_t)st.st_size + 1);
    f[0] = 0x1f;   /* flags: fix everything after mutation */
    snprintf(fname, sizeof fname, "%s-fixed", name);
    put_file("snapfile", fname, f, (size_t)st.st_size + 1);
    free(f);
    fuzz_file_close(fd);
}

/* A session whose timeout is negative (-100 s: its deadline is before
 * time 0), by a createSession txn and in a snapshot that loads: the expiry
 * ring was indexed before its start (session.c: slot_of).  Regression
 * inputs for fuzz_txn and fuzz_snapshot, built from encodings. */
static void negative_timeout_seeds(void)
{
    fuzz_server_end();
    fuzz_server_begin();
    TxnList l = {WBUF_INIT, WBUF_INIT, 0};
    txn_begin(&l, SID, ZOO_OP_CREATE_SESSION);
    jute_write_CreateSessionTxn(&l.one, &(CreateSessionTxn){-100000});
    txn_end(&l);
    create(&l, SID, "/e", "", OPEN, 1, 1);
    put_wbuf("txn", "negative-session-timeout", &l.all);
    WBuf w = WBUF_INIT;
    server_serialize_state(&w);
    put_wbuf("snapshot", "negative-session-timeout", &w);
    wbuf_free(&w);
    wbuf_free(&l.all);
    wbuf_free(&l.one);
}

static void snapshot_seeds(TxnList *l)
{
    WBuf w = WBUF_INIT;
    fuzz_server_end();
    fuzz_server_begin();
    int64_t z = server_serialize_state(&w);
    put_wbuf("snapshot", "empty", &w);
    snapshot_file("empty", z, &w);
    wbuf_reset(&w);
    /* the state built by the history (still in srv) */
    fuzz_server_end();
    fuzz_server_begin();
    TxnList again = {WBUF_INIT, WBUF_INIT, 0};
    build_history(&again);
    z = server_serialize_state(&w);
    put_wbuf("snapshot", "history", &w);
    snapshot_file("history", z, &w);
    wbuf_free(&again.all);
    wbuf_free(&again.one);
    wbuf_free(&w);
}

/* ---- WAL segments ----------------------------------------------------------- */

typedef struct Seg {
    uint8_t *p;
    size_t len, cap;
} Seg;

static void seg_put(Seg *s, const void *p, size_t n)
{
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2;
        s->p = realloc(s->p, s->cap);
    }
    memcpy(s->p + s->len, p, n);
    s->len += n;
}

/* A segment holding the history's txns as records, write units of
 * `per_unit` records, `tail` zero bytes of preallocated space after them. */
static void segment(Seg *s, const TxnList *l, int per_unit, size_t tail)
{
    s->len = 0;
    WalfSegHeader h = {WALF_VERSION, 1, 1, 0, 65536};
    uint8_t hb[WALF_SEG_HEADER_SIZE];
    walf_seg_header_encode(hb, &h);
    seg_put(s, "\0", 1);   /* flags byte */
    seg_put(s, hb, sizeof hb);
    size_t off = 0;
    int64_t zxid = 0;
    uint64_t unit = WALF_SEG_HEADER_SIZE;
    for (int i = 0; off < l->all.len; i++) {
        size_t len = (size_t)l->all.data[off] << 8 | l->all.data[off + 1];
        const uint8_t *body = l->all.data + off + 2;
        if (i % per_unit == 0)
            unit = s->len - 1;
        uint8_t rh[WALF_REC_HEADER_SIZE];
        walf_rec_header_encode(rh, ++zxid, unit, body, (uint32_t)len);
        seg_put(s, rh, sizeof rh);
        seg_put(s, body, len);
        off += 2 + len;
    }
    for (size_t i = 0; i < tail; i++)
        seg_put(s, "\0", 1);
}

static void wal_seeds(const TxnList *l)
{
    Seg s = {NULL, 0, 0};
    segment(&s, l, 1, 0);
    put_file("wal", "records", s.p, s.len);
    segment(&s, l, 4, 512);
    put_file("wal", "units-prealloc", s.p, s.len);
    s.p[0] = 7;   /* flags: fix header and record CRCs after mutation */
    put_file("wal", "units-prealloc-fixed", s.p, s.len);
    /* torn: the last record cut short, zeros after */
    segment(&s, l, 4, 0);
    size_t full = s.len;
    s.len -= 10;
    put_file("wal", "torn", s.p, s.len);
    /* corrupt: a byte of the second record's body flipped; later units valid */
    s.len = full;
    size_t second = 1 + WALF_SEG_HEADER_SIZE + WALF_REC_HEADER_SIZE + (size_t)walf_get32(s.p + 1 + 48 + 4);
    s.p[second + WALF_REC_HEADER_SIZE + 3] ^= 0x40;
    put_file("wal", "corrupt", s.p, s.len);
    /* only a header, and a header then zeros */
    segment(&s, &(TxnList){WBUF_INIT, WBUF_INIT, 0}, 1, 0);
    put_file("wal", "empty", s.p, s.len);
    segment(&s, &(TxnList){WBUF_INIT, WBUF_INIT, 0}, 1, 256);
    put_file("wal", "empty-prealloc", s.p, s.len);
    free(s.p);
}

/* ---- peer frames --------------------------------------------------------------- */

static size_t frame_begin(WBuf *w, int type, int64_t zxid)
{
    size_t off = wbuf_begin_frame(w);
    wbuf_put_int(w, type);
    wbuf_put_long(w, zxid);
    return off;
}

static void peer_seeds(void)
{
    WBuf w = WBUF_INIT;
    size_t off;
    /* election: a LOOKING vote, then a LEADING answer */
    off = frame_begin(&w, ZP_NOTIFICATION, 0x100000005LL);
    zab_encode_notification(&w, &(ZabNotification){ZAB_LOOKING, 3, 2, 1, 3, 0});
    wbuf_end_frame(&w, off);
    off = frame_begin(&w, ZP_NOTIFICATION, 0x100000005LL);
    zab_encode_notification(&w, &(ZabNotification){ZAB_LEADING, 2, 2, 1, 2, 0});
    wbuf_end_frame(&w, off);
    put_wbuf("peer", "election", &w);

    /* learner -> leader: discovery, sync, acks, pongs, a forwarded request, sync */
    wbuf_reset(&w);
    off = frame_begin(&w, ZP_FOLLOWERINFO, 0x100000009LL);
    zab_encode_followerinfo(&w, &(ZabFollowerInfo){2, 1, 0, 0});
    wbuf_end_frame(&w, off);
    off = frame_begin(&w, ZP_ACKEPOCH, 0x100000009LL);
    zab_encode_ackepoch(&w, &(ZabAckEpoch){1, 1});
    wbuf_end_frame(&w, off);
    off = frame_begin(&w, ZP_ACKNEWLEADER, 0x200000000LL);
    wbuf_end_frame(&w, off);
    off = frame_begin(&w, ZP_ACK, 0x200000001LL);
    wbuf_end_frame(&w, off);
    off = frame_begin(&w, ZP_PONG, 4);
    wbuf_put_int(&w, 2);
    wbuf_put_long(&w, SID);
    wbuf_put_int(&w, 29000);
    wbuf_put_long(&w, SID2);
    wbuf_put_int(&w, 1200);
    wbuf_end_frame(&w, off);
    {
        WBuf body = WBUF_INIT;
        RequestHeader h = {9, ZOO_OP_CREATE};
        jute_write_RequestHeader(&body, &h);
        jute_write_CreateRequest(&body, &(CreateRequest){S("/f"), S("x"), OPEN, 0});
        ZabAuth ids[2] = {{"ip", "127.0.0.1"}, {"digest", "bob"}};
        off = frame_begin(&w, ZP_REQUEST, 0);
        zab_encode_request(&w, &(ZabRequestHead){ZAB_REQ_WRITE, SID, 9, ZOO_OP_CREATE, 0}, ids, 2, body.data,
                           body.len);
        wbuf_end_frame(&w, off);
        off = frame_begin(&w, ZP_REQUEST, 0);
        zab_encode_request(&w, &(ZabRequestHead){ZAB_REQ_CREATE_SESSION, SID2, 0, ZOO_OP_CREATE_SESSION, 30000},
                           ids, 1, NULL, 0);
        wbuf_end_frame(&w, off);
        wbuf_free(&body);
    }
    off = frame_begin(&w, ZP_SYNC, 0);
    zab_encode_long(&w, 77);
    wbuf_end_frame(&w, off);
    off = frame_begin(&w, ZP_ACKNEWEPOCH, 2);
    wbuf_end_frame(&w, off);
    put_wbuf("peer", "learner-to-leader", &w);

    /* leader -> learner: LEADERINFO, DIFF, proposals, NEWLEADER, COMMIT,
     * UPTODATE, PING, SYNCDONE, INFORM, REFUSED, NEWEPOCH */
    wbuf_reset(&w);
    off = frame_begin(&w, ZP_LEADERINFO, 2);
    wbuf_end_frame(&w, off);
    off = frame_begin(&w, ZP_DIFF, 0x100000009LL);
    wbuf_end_frame(&w, off);
    {
        WBuf t = WBUF_INIT;
        TxnHeader h = {SID, 1, 0x200000001LL, T0, ZOO_OP_CREATE};
        jute_write_TxnHeader(&t, &h);
        jute_write_CreateTxn(&t, &(CreateTxn){S("/f"), S("x"), OPEN, 0, 1});
        off = frame_begin(&w, ZP_PROPOSAL, 0x200000001LL);
        wbuf_put_raw(&w, t.data, t.len);
        wbuf_end_frame(&w, off);
        off = frame_begin(&w, ZP_NEWLEADER, 0x200000000LL);
        wbuf_end_frame(&w, off);
        off = frame_begin(&w, ZP_COMMIT, 0x200000001LL);
        wbuf_end_frame(&w, off);
        off = frame_begin(&w, ZP_UPTODATE, 0x200000001LL);
        wbuf_end_frame(&w, off);
        off = frame_begin(&w, ZP_PING, 0x200000001LL);
        zab_encode_long(&w, 5);
        wbuf_end_frame(&w, off);
        off = frame_begin(&w, ZP_SYNCDONE, 0x200000001LL);
        zab_encode_long(&w, 77);
        wbuf_end_frame(&w, off);
        off = frame_begin(&w, ZP_INFORM, 0x200000002LL);
        wbuf_put_raw(&w, t.data, t.len);
        wbuf_end_frame(&w, off);
        off = frame_begin(&w, ZP_REFUSED, SID);
        wbuf_end_frame(&w, off);
        off = frame_begin(&w, ZP_NEWEPOCH, 3);
        wbuf_end_frame(&w, off);
        wbuf_free(&t);
    }
    put_wbuf("peer", "leader-to-learner", &w);

    /* a SNAP carrying a small core snapshot, then TRUNC */
    wbuf_reset(&w);
    {
        WBuf snap = WBUF_INIT;
        fuzz_server_end();
        fuzz_server_begin();
        int64_t z = server_serialize_state(&snap);
        off = frame_begin(&w, ZP_SNAP, z);
        wbuf_put_raw(&w, snap.data, snap.len);
        wbuf_end_frame(&w, off);
        off = frame_begin(&w, ZP_TRUNC, 0x100000003LL);
        wbuf_end_frame(&w, off);
        wbuf_free(&snap);
    }
    put_wbuf("peer", "snap-trunc", &w);
    wbuf_free(&w);
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: %s CORPUS_DIR [CONFIG_DIR]\n", argv[0]);
        return 2;
    }
    outdir = argv[1];
    if (mkdir(outdir, 0777) < 0 && errno != EEXIST) {
        perror(outdir);
        return 1;
    }
    fuzz_server_init();
    fuzz_server_begin();
    jute_seeds();
    connect_seeds();
    config_seeds(argc == 3 ? argv[2] : "config");
    TxnList l = {WBUF_INIT, WBUF_INIT, 0};
    build_history(&l);
    txn_seeds(&l);
    wal_seeds(&l);
    snapshot_seeds(&l);
    negative_timeout_seeds();
    peer_seeds();
    fuzz_server_end();
    wbuf_free(&l.all);
    wbuf_free(&l.one);
    printf("%d seed files written under %s\n", nwritten, outdir);
    return 0;
}
