/*
 * regress/unit/test_quorum_config.c: the ensemble configuration text of
 * /zookeeper/config (src/backend/zab/quorum_config.c): ZooKeeper's server
 * strings (QuorumServer), what they refuse, QuorumMaj.toString (its
 * java.util.HashMap order, no final newline), majorities.
 */
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "zab/zab.h"

static int parse(const char *spec, EnsembleMember *m)
{
    char err[160];
    return qc_parse_server(7, spec, strlen(spec), m, err, sizeof err);
}

static const char *format(const QuorumConfig *qc)
{
    static char buf[4096];
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    qc_format(qc, &sb);
    snprintf(buf, sizeof buf, "%s", sb.data ? sb.data : "");
    corral_strbuf_free(&sb);
    return buf;
}

int main(void)
{
    plan(33);
    EnsembleMember m;
    ok(parse("10.0.0.1:2888:3888", &m) == 0, "host:port:port");
    is_str(m.peer.host, "10.0.0.1", "peer host");
    is_int(m.peer.port, 2888, "peer port");
    is_int(m.election.port, 3888, "election port");
    is_str(m.election.host, "10.0.0.1", "election host is the peer host");
    ok(!m.observer && !m.has_client, "participant, no client address");
    ok(parse("h:1:2:observer;3456", &m) == 0 && m.observer, "observer with a client port");
    is_str(m.client.host, "0.0.0.0", "a client port alone listens on 0.0.0.0");
    is_int(m.client.port, 3456, "client port");
    ok(parse("h:1:2:participant;127.0.0.1:2181", &m) == 0 && !m.observer && m.has_client, "participant;host:port");
    ok(parse("[::1]:1:2;[::1]:3", &m) == 0, "IPv6 in brackets");
    is_str(m.peer.host, "::1", "brackets stripped");

    ok(parse("some thing", &m) < 0, "refused: no ports");
    ok(parse("h:1", &m) < 0, "refused: two parts");
    ok(parse("h:1:2:3:4", &m) < 0, "refused: five parts");
    ok(parse("h:1:1", &m) < 0, "refused: quorum port = election port");
    ok(parse("h:1:2:voter", &m) < 0, "refused: unknown role");
    ok(parse("h:1:x", &m) < 0, "refused: a port that is not a number");
    ok(parse("h:1:70000", &m) < 0, "refused: a port above 65535");
    ok(parse("h:1:2;a:b:c", &m) < 0, "refused: client address with 3 parts");
    ok(parse("h:1:2|g:3:4", &m) < 0, "refused: several addresses (not supported)");

    QuorumConfig qc;
    char err[160];
    const char *text = "server.100=0.0.0.0:1:2:observer;0.0.0.0:3\nserver.2=b:1:2:participant;b:3\n"
                       "server.1=a:1:2:participant;a:3\nserver.3=c:1:2\nversion=100000000";
    ok(qc_parse(text, strlen(text), '\n', &qc, err, sizeof err) == 0, "a configuration parses");
    is_int(qc.version, 0x100000000LL, "its version (hex)");
    is_int(qc_voters(&qc), 3, "3 participants");
    is_str(format(&qc),
           "server.1=a:1:2:participant;a:3\nserver.2=b:1:2:participant;b:3\nserver.3=c:1:2:participant\n"
           "server.100=0.0.0.0:1:2:observer;0.0.0.0:3\nversion=100000000",
           "QuorumMaj.toString: HashMap order (100 is in bucket 4), role always shown, no final newline");
    const char *t2 = "server.1=a:1:2,server.17=q:1:2,server.2=b:1:2";
    ok(qc_parse(t2, strlen(t2), ',', &qc, err, sizeof err) == 0, "comma-separated (newMembers)");
    is_str(format(&qc),
           "server.1=a:1:2:participant\nserver.17=q:1:2:participant\nserver.2=b:1:2:participant\nversion=0",
           "17 shares bucket 1 with 1, as in java.util.HashMap");
    /* Incremental reconfig: ZooKeeper copies the 3-member map (a table of
     * 8), so 9 lands in bucket 1, after 1. */
    const char *t3 = "server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\nserver.9=d:1:2";
    ok(qc_parse(t3, strlen(t3), '\n', &qc, err, sizeof err) == 0, "4 members");
    qc.java_table = qc_java_copy_table(3);
    is_str(format(&qc),
           "server.1=a:1:2:participant\nserver.9=d:1:2:participant\nserver.2=b:1:2:participant\n"
           "server.3=c:1:2:participant\nversion=0",
           "a copy of a 3-member map has 8 buckets: 9 follows 1");
    ok(qc_parse("foo=bar", 7, '\n', &qc, err, sizeof err) < 0, "refused: an unknown key");
    ok(qc_parse("group.1=1:2:3", 13, '\n', &qc, err, sizeof err) < 0, "refused: hierarchical groups");

    int64_t two[] = {1, 2}, one_obs[] = {1, 100};
    ok(qc_parse(text, strlen(text), '\n', &qc, err, sizeof err) == 0 && qc_has_quorum(&qc, two, 2),
       "2 of 3 participants: a majority");
    ok(!qc_has_quorum(&qc, one_obs, 2), "a participant and an observer: not a majority");
    return done_testing();
}
