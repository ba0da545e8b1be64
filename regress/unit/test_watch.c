/*
 * regress/unit/test_watch.c: the watch manager against ZooKeeper 3.8's rules.
 *
 * Scenario tests name the rule (and the ZooKeeper source it comes from);
 * a randomized run then compares every trigger, removal, check and counter
 * with a direct transcription of 3.8's two-table WatchManager/DataTree.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "watch/watch.h"

#define P(s) (s), strlen(s)

/* ---- recording deliveries ---------------------------------------------- */

typedef struct Ev {
    WatcherId w;
    int type;
    char path[64];
} Ev;

static Ev evs[256];
static int nev;

static void rec_deliver(void *ctx, WatcherId w, int type, const char *path, size_t len)
{
    (void)ctx;
    if (nev < (int)(sizeof evs / sizeof evs[0])) {
        evs[nev].w = w;
        evs[nev].type = type;
        snprintf(evs[nev].path, sizeof evs[nev].path, "%.*s", (int)len, path);
    }
    nev++;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Triggers and returns the told sessions as "1,2,3" (sorted), "" if none,
 * or "BAD" if an event carried the wrong type or path. */
static const char *trig(WatchManager *wm, const char *path, int type)
{
    static char out[1024];
    uint64_t ids[256];
    nev = 0;
    watch_trigger(wm, P(path), type, rec_deliver, NULL);
    for (int i = 0; i < nev; i++) {
        if (evs[i].type != type || strcmp(evs[i].path, path) != 0)
            return "BAD";
        ids[i] = evs[i].w;
    }
    qsort(ids, (size_t)nev, sizeof ids[0], cmp_u64);
    out[0] = '\0';
    for (int i = 0; i < nev; i++)
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%llu", i ? "," : "",
                 (unsigned long long)ids[i]);
    return out;
}

/* The calls DataTree makes, as the request processor will make them. */
static const char *parent_of(const char *path, char *buf)
{
    const char *slash = strrchr(path, '/');
    size_t n = (size_t)(slash - path);
    if (n == 0)
        n = 1;
    memcpy(buf, path, n);
    buf[n] = '\0';
    return buf;
}

/* ---- scenario tests ----------------------------------------------------- */

static void test_data_watches(void)
{
    WatchManager *wm = watch_new();

    /* getData watch: NodeDataChanged once, then gone (one-shot). */
    watch_add(wm, P("/a"), 1, WATCH_DATA);
    is_str(trig(wm, "/a", ZEV_NODE_DATA_CHANGED), "1", "data watch fires on setData");
    is_str(trig(wm, "/a", ZEV_NODE_DATA_CHANGED), "", "data watch is one-shot");

    /* exists watch on a missing node: NodeCreated; the parent's
     * children-changed does not touch data watches. */
    watch_add(wm, P("/b"), 2, WATCH_DATA);
    is_str(trig(wm, "/", ZEV_NODE_CHILDREN_CHANGED), "", "children-changed of the parent skips data watches");
    is_str(trig(wm, "/b", ZEV_NODE_CREATED), "2", "exists watch fires on create");
    is_str(trig(wm, "/b", ZEV_NODE_CREATED), "", "exists watch is one-shot");

    /* data watch: NodeDeleted. */
    watch_add(wm, P("/c"), 3, WATCH_DATA);
    is_str(trig(wm, "/c", ZEV_NODE_DELETED), "3", "data watch fires on delete");
    is_int(watch_has(wm, P("/c"), 3, WATCHER_TYPE_ANY), 0, "and is removed");

    /* events on other paths, children and prefixes do not match */
    watch_add(wm, P("/d"), 4, WATCH_DATA);
    is_str(trig(wm, "/d/x", ZEV_NODE_CREATED), "", "a data watch ignores a child's create");
    is_str(trig(wm, "/dd", ZEV_NODE_DATA_CHANGED), "", "a data watch ignores a prefix sibling");
    is_str(trig(wm, "/d", ZEV_NODE_CHILDREN_CHANGED), "", "a data watch ignores children-changed");
    is_int(watch_has(wm, P("/d"), 4, WATCHER_TYPE_DATA), 1, "still registered");

    /* several sessions on one path are each told once */
    watch_add(wm, P("/d"), 5, WATCH_DATA);
    watch_add(wm, P("/d"), 6, WATCH_DATA);
    watch_add(wm, P("/d"), 5, WATCH_DATA);  /* again: no duplicate */
    is_int(watch_count(wm), 3, "re-adding the same watch does not duplicate it");
    is_str(trig(wm, "/d", ZEV_NODE_DATA_CHANGED), "4,5,6", "every watcher of the path told once");
    is_int(watch_count(wm), 0, "all one-shot watches gone");
    is_int(watch_check(wm), 0, "invariants hold");
    watch_free(wm);
}

static void test_child_watches(void)
{
    WatchManager *wm = watch_new();
    char pb[64];

    /* getChildren watch on /p: a child's create is NodeChildrenChanged on /p
     * (DataTree.createNode triggers childWatches on the parent). */
    watch_add(wm, P("/p"), 1, WATCH_CHILD);
    is_str(trig(wm, "/p/c", ZEV_NODE_CREATED), "", "child watch ignores the child's own create");
    is_str(trig(wm, parent_of("/p/c", pb), ZEV_NODE_CHILDREN_CHANGED), "1", "child watch fires on child create");
    is_str(trig(wm, "/p", ZEV_NODE_CHILDREN_CHANGED), "", "child watch is one-shot");

    /* child delete */
    watch_add(wm, P("/p"), 1, WATCH_CHILD);
    is_str(trig(wm, "/p/c", ZEV_NODE_DELETED), "", "child watch ignores the child's own delete");
    is_str(trig(wm, "/p", ZEV_NODE_CHILDREN_CHANGED), "1", "child watch fires on child delete");

    /* setData and create of the node itself do not fire a child watch */
    watch_add(wm, P("/p"), 1, WATCH_CHILD);
    is_str(trig(wm, "/p", ZEV_NODE_DATA_CHANGED), "", "child watch ignores setData");
    is_str(trig(wm, "/p", ZEV_NODE_CREATED), "", "child watch ignores NodeCreated");
    /* ... but the node's own delete does (deleteNode: childWatches on path) */
    is_str(trig(wm, "/p", ZEV_NODE_DELETED), "1", "child watch fires on the node's own delete");
    is_int(watch_mntr_count(wm), 0, "and is removed");

    /* root's children: parent of "/x" is "/" */
    watch_add(wm, P("/"), 2, WATCH_CHILD);
    is_str(trig(wm, parent_of("/x", pb), ZEV_NODE_CHILDREN_CHANGED), "2", "child watch on / fires for /x");

    /* data + child watch of one session, delete: told once, both removed
     * (deleteNode passes dataWatches' result as supress) */
    watch_add(wm, P("/q"), 3, WATCH_DATA);
    watch_add(wm, P("/q"), 3, WATCH_CHILD);
    watch_add(wm, P("/q"), 4, WATCH_CHILD);
    watch_add(wm, P("/q"), 5, WATCH_DATA);
    is_str(trig(wm, "/q", ZEV_NODE_DELETED), "3,4,5", "delete tells data and child watchers once each");
    is_int(watch_mntr_count(wm), 0, "delete removes both one-shot halves");
    is_int(watch_check(wm), 0, "invariants hold");
    watch_free(wm);
}

static void test_persistent(void)
{
    WatchManager *wm = watch_new();
    char pb[64];

    /* addWatch PERSISTENT: both tables, never removed by a trigger. */
    watch_add(wm, P("/p"), 1, WATCH_PERSISTENT);
    is_int(watch_count(wm), 1, "persistent: one data-table registration (wchs)");
    is_int(watch_mntr_count(wm), 2, "persistent: data + child registrations (mntr)");
    is_str(trig(wm, "/p", ZEV_NODE_CREATED), "1", "persistent fires on create");
    is_str(trig(wm, "/p", ZEV_NODE_DATA_CHANGED), "1", "persistent fires on setData");
    is_str(trig(wm, "/p", ZEV_NODE_DATA_CHANGED), "1", "persistent fires again (not removed)");
    is_str(trig(wm, "/p/c", ZEV_NODE_CREATED), "", "persistent is not recursive");
    is_str(trig(wm, parent_of("/p/c", pb), ZEV_NODE_CHILDREN_CHANGED), "1", "persistent fires on children-changed");
    is_str(trig(wm, "/p/c", ZEV_NODE_DATA_CHANGED), "", "persistent ignores a child's setData");
    is_str(trig(wm, "/p", ZEV_NODE_DELETED), "1", "persistent fires once on delete");
    is_str(trig(wm, "/p", ZEV_NODE_CREATED), "1", "and survives the delete");
    is_int(watch_mntr_count(wm), 2, "still both halves");

    /* data watch then persistent: the mode becomes PERSISTENT */
    watch_add(wm, P("/x"), 2, WATCH_DATA);
    watch_add(wm, P("/x"), 2, WATCH_PERSISTENT);
    is_str(trig(wm, "/x", ZEV_NODE_DATA_CHANGED), "2", "data-then-persistent fires");
    is_str(trig(wm, "/x", ZEV_NODE_DATA_CHANGED), "2", "data-then-persistent is persistent");

    /* persistent then data watch: 3.8 overwrites the data-table mode with
     * STANDARD (WatcherModeManager.setWatcherMode; ZOOKEEPER-4466) */
    watch_add(wm, P("/y"), 3, WATCH_PERSISTENT);
    watch_add(wm, P("/y"), 3, WATCH_DATA);
    is_str(trig(wm, "/y", ZEV_NODE_DATA_CHANGED), "3", "persistent-then-data fires");
    is_str(trig(wm, "/y", ZEV_NODE_DATA_CHANGED), "", "3.8 quirk: its data half became one-shot");
    is_str(trig(wm, "/y", ZEV_NODE_CHILDREN_CHANGED), "3", "the child half stays persistent");
    is_str(trig(wm, "/y", ZEV_NODE_CHILDREN_CHANGED), "3", "and keeps firing");

    /* persistent then child watch: the child half becomes one-shot */
    watch_add(wm, P("/z"), 4, WATCH_PERSISTENT);
    watch_add(wm, P("/z"), 4, WATCH_CHILD);
    is_str(trig(wm, "/z", ZEV_NODE_CHILDREN_CHANGED), "4", "persistent-then-child fires");
    is_str(trig(wm, "/z", ZEV_NODE_CHILDREN_CHANGED), "", "3.8 quirk: its child half became one-shot");
    is_str(trig(wm, "/z", ZEV_NODE_DATA_CHANGED), "4", "the data half stays persistent");
    is_int(watch_check(wm), 0, "invariants hold");
    watch_free(wm);
}

static void test_recursive(void)
{
    WatchManager *wm = watch_new();

    watch_add(wm, P("/r"), 1, WATCH_PERSISTENT_RECURSIVE);
    is_int(watch_recursive_count(wm), 1, "one recursive watch");
    is_int(watch_count(wm), 1, "recursive is in the data table (wchs)");
    is_int(watch_mntr_count(wm), 1, "and only there (DataTree.addWatch)");
    is_str(trig(wm, "/r", ZEV_NODE_CREATED), "1", "recursive fires for the node's create");
    is_str(trig(wm, "/r", ZEV_NODE_DATA_CHANGED), "1", "recursive fires for the node's setData");
    is_str(trig(wm, "/r/a", ZEV_NODE_CREATED), "1", "recursive fires for a child's create, with the child's path");
    is_str(trig(wm, "/r/a/b/c", ZEV_NODE_CREATED), "1", "recursive fires for a deep descendant");
    is_str(trig(wm, "/r/a/b/c", ZEV_NODE_DATA_CHANGED), "1", "... setData");
    is_str(trig(wm, "/r/a/b/c", ZEV_NODE_DELETED), "1", "... delete");
    is_str(trig(wm, "/r/a/b", ZEV_NODE_CHILDREN_CHANGED), "", "recursive never sees children-changed below");
    is_str(trig(wm, "/r", ZEV_NODE_CHILDREN_CHANGED), "", "nor on its own node");
    is_str(trig(wm, "/", ZEV_NODE_CHILDREN_CHANGED), "", "nor above");
    is_str(trig(wm, "/rx/a", ZEV_NODE_CREATED), "", "a prefix sibling is not a descendant");
    is_str(trig(wm, "/", ZEV_NODE_DATA_CHANGED), "", "an ancestor is not a descendant");
    is_str(trig(wm, "/r", ZEV_NODE_DELETED), "1", "recursive fires on its node's delete");
    is_str(trig(wm, "/r/a", ZEV_NODE_DATA_CHANGED), "1", "and survives it");

    /* recursive on "/" sees everything but children-changed */
    watch_add(wm, P("/"), 2, WATCH_PERSISTENT_RECURSIVE);
    is_str(trig(wm, "/q/w/e", ZEV_NODE_CREATED), "2", "recursive on / fires for any path");
    is_str(trig(wm, "/r/x", ZEV_NODE_CREATED), "1,2", "two recursive ancestors, two sessions");
    is_str(trig(wm, "/", ZEV_NODE_DATA_CHANGED), "2", "recursive on / fires for / itself");

    /* dedupe: one session, several matching watches, one event; the
     * one-shot one is removed anyway */
    watch_add(wm, P("/r/a"), 2, WATCH_PERSISTENT_RECURSIVE);
    watch_add(wm, P("/r/a/b"), 2, WATCH_DATA);
    watch_add(wm, P("/r/a/b"), 2, WATCH_CHILD);
    is_str(trig(wm, "/r/a/b", ZEV_NODE_DATA_CHANGED), "1,2", "session with 3 matching watches told once");
    is_int(watch_has(wm, P("/r/a/b"), 2, WATCHER_TYPE_DATA), 0, "its one-shot data watch is removed");
    is_int(watch_has(wm, P("/r/a/b"), 2, WATCHER_TYPE_CHILDREN), 1, "its child watch is untouched by setData");
    /* delete: data table (recursive ancestors) and child table deduped */
    is_str(trig(wm, "/r/a/b", ZEV_NODE_DELETED), "1,2", "delete: recursive + child watch told once");
    is_int(watch_has(wm, P("/r/a/b"), 2, WATCHER_TYPE_ANY), 0, "the child watch is removed though suppressed");

    /* recursive then data watch on the same path: 3.8 replaces it */
    watch_add(wm, P("/r"), 1, WATCH_DATA);
    is_int(watch_recursive_count(wm), 2, "3.8 quirk: a data watch replaced the recursive one on /r");
    is_str(trig(wm, "/r/k", ZEV_NODE_CREATED), "2", "so /r/k no longer tells session 1");
    is_str(trig(wm, "/r", ZEV_NODE_DATA_CHANGED), "1,2", "the replacement is a one-shot data watch");
    is_str(trig(wm, "/r", ZEV_NODE_DATA_CHANGED), "2", "gone after firing");

    /* no recursive watch anywhere: ancestors are not looked at */
    watch_remove_watcher(wm, 2);
    is_int(watch_recursive_count(wm), 0, "no recursive watch left");
    watch_add(wm, P("/s"), 5, WATCH_DATA);
    is_str(trig(wm, "/s/t", ZEV_NODE_CREATED), "", "plain data watch on an ancestor does not fire");
    is_int(watch_check(wm), 0, "invariants hold");
    watch_free(wm);
}

static void test_remove(void)
{
    WatchManager *wm = watch_new();

    /* Children removes the child-table half only */
    watch_add(wm, P("/a"), 1, WATCH_DATA);
    is_int(watch_remove(wm, P("/a"), 1, WATCHER_TYPE_CHILDREN), 0, "Children: no child watch -> 0");
    watch_add(wm, P("/a"), 1, WATCH_CHILD);
    is_int(watch_remove(wm, P("/a"), 1, WATCHER_TYPE_CHILDREN), 1, "Children removes the child watch");
    is_int(watch_has(wm, P("/a"), 1, WATCHER_TYPE_DATA), 1, "the data watch stays");
    is_int(watch_remove(wm, P("/a"), 1, WATCHER_TYPE_CHILDREN), 0, "Children again -> 0");
    /* Data removes the data-table half only */
    watch_add(wm, P("/a"), 1, WATCH_CHILD);
    is_int(watch_remove(wm, P("/a"), 1, WATCHER_TYPE_DATA), 1, "Data removes the data watch");
    is_int(watch_has(wm, P("/a"), 1, WATCHER_TYPE_CHILDREN), 1, "the child watch stays");
    is_int(watch_remove(wm, P("/a"), 1, WATCHER_TYPE_DATA), 0, "Data again -> 0");
    /* Any removes both; 1 if either matched */
    watch_add(wm, P("/a"), 1, WATCH_DATA);
    is_int(watch_remove(wm, P("/a"), 1, WATCHER_TYPE_ANY), 1, "Any removes data + child");
    is_int(watch_mntr_count(wm), 0, "nothing left");
    is_int(watch_remove(wm, P("/a"), 1, WATCHER_TYPE_ANY), 0, "Any on nothing -> 0");
    watch_add(wm, P("/a"), 1, WATCH_CHILD);
    is_int(watch_remove(wm, P("/a"), 1, WATCHER_TYPE_ANY), 1, "Any with only a child watch -> 1");

    /* other session, other path */
    watch_add(wm, P("/a"), 1, WATCH_DATA);
    is_int(watch_remove(wm, P("/a"), 2, WATCHER_TYPE_ANY), 0, "another session's watch is not removed");
    is_int(watch_remove(wm, P("/b"), 1, WATCHER_TYPE_ANY), 0, "another path -> 0");
    is_int(watch_has(wm, P("/a"), 1, WATCHER_TYPE_DATA), 1, "still there");
    watch_remove(wm, P("/a"), 1, WATCHER_TYPE_ANY);

    /* persistent watch: Data / Children remove one half (ZOOKEEPER-4471) */
    watch_add(wm, P("/p"), 1, WATCH_PERSISTENT);
    is_int(watch_remove(wm, P("/p"), 1, WATCHER_TYPE_DATA), 1, "Data matches a persistent watch");
    is_str(trig(wm, "/p", ZEV_NODE_DATA_CHANGED), "", "its data half is gone");
    is_str(trig(wm, "/p", ZEV_NODE_CHILDREN_CHANGED), "1", "its child half still fires, persistently");
    is_str(trig(wm, "/p", ZEV_NODE_CHILDREN_CHANGED), "1", "(still)");
    is_int(watch_remove(wm, P("/p"), 1, WATCHER_TYPE_CHILDREN), 1, "Children removes the rest");
    is_int(watch_mntr_count(wm), 0, "nothing left");
    watch_add(wm, P("/p"), 1, WATCH_PERSISTENT);
    is_int(watch_remove(wm, P("/p"), 1, WATCHER_TYPE_CHILDREN), 1, "Children matches a persistent watch");
    is_str(trig(wm, "/p", ZEV_NODE_DATA_CHANGED), "1", "its data half stays persistent");
    is_str(trig(wm, "/p", ZEV_NODE_DATA_CHANGED), "1", "(still)");
    is_int(watch_remove(wm, P("/p"), 1, WATCHER_TYPE_ANY), 1, "Any removes a persistent watch");
    watch_add(wm, P("/p"), 1, WATCH_PERSISTENT);
    is_int(watch_remove(wm, P("/p"), 1, WATCHER_TYPE_ANY), 1, "Any removes both halves at once");
    is_int(watch_mntr_count(wm), 0, "nothing left");

    /* recursive: in the data table only */
    watch_add(wm, P("/r"), 1, WATCH_PERSISTENT_RECURSIVE);
    is_int(watch_remove(wm, P("/r"), 1, WATCHER_TYPE_CHILDREN), 0, "Children does not match a recursive watch");
    is_int(watch_remove(wm, P("/r/x"), 1, WATCHER_TYPE_DATA), 0, "nor does a descendant's path");
    is_int(watch_remove(wm, P("/r"), 1, WATCHER_TYPE_DATA), 1, "Data removes a recursive watch");
    is_int(watch_recursive_count(wm), 0, "recursive count back to 0");
    watch_add(wm, P("/r"), 1, WATCH_PERSISTENT_RECURSIVE);
    is_int(watch_remove(wm, P("/r"), 1, WATCHER_TYPE_ANY), 1, "Any removes a recursive watch");
    is_str(trig(wm, "/r/x", ZEV_NODE_CREATED), "", "and it no longer fires");

    /* types that 3.8 does not know */
    watch_add(wm, P("/t"), 1, WATCH_PERSISTENT);
    is_int(watch_remove(wm, P("/t"), 1, WATCHER_TYPE_PERSISTENT), WATCH_BAD_TYPE, "Persistent(4) is not a 3.8 type");
    is_int(watch_remove(wm, P("/t"), 1, WATCHER_TYPE_PERSISTENT_RECURSIVE), WATCH_BAD_TYPE, "PersistentRecursive(5) neither");
    is_int(watch_remove(wm, P("/t"), 1, 0), WATCH_BAD_TYPE, "0 neither");
    is_int(watch_contains(wm, P("/t"), 1, 4), WATCH_BAD_TYPE, "contains: 4 is bad");
    is_int(watch_has(wm, P("/t"), 1, 6), WATCH_BAD_TYPE, "has: 6 is bad");
    is_int(watch_mntr_count(wm), 2, "bad types removed nothing");
    is_int(watch_check(wm), 0, "invariants hold");
    watch_free(wm);
}

static void test_contains(void)
{
    WatchManager *wm = watch_new();

    watch_add(wm, P("/a"), 1, WATCH_DATA);
    is_int(watch_contains(wm, P("/a"), 1, WATCHER_TYPE_DATA), 1, "contains Data: own data watch");
    is_int(watch_contains(wm, P("/a"), 1, WATCHER_TYPE_CHILDREN), 0, "contains Children: no child watch");
    is_int(watch_contains(wm, P("/a"), 1, WATCHER_TYPE_ANY), 1, "contains Any");
    is_int(watch_contains(wm, P("/b"), 1, WATCHER_TYPE_ANY), 0, "contains: other path");
    /* WatchManager.containsWatcher (3.6-3.8) returns true when the table
     * has any watcher on the path: the watcher is not compared */
    is_int(watch_contains(wm, P("/a"), 2, WATCHER_TYPE_DATA), 1, "3.8: another session's watch matches");
    is_int(watch_has(wm, P("/a"), 2, WATCHER_TYPE_DATA), 0, "watch_has is per session");
    watch_add(wm, P("/c"), 1, WATCH_CHILD);
    is_int(watch_contains(wm, P("/c"), 1, WATCHER_TYPE_CHILDREN), 1, "contains Children: child watch");
    is_int(watch_contains(wm, P("/c"), 1, WATCHER_TYPE_DATA), 0, "contains Data: none");
    watch_add(wm, P("/p"), 1, WATCH_PERSISTENT);
    is_int(watch_contains(wm, P("/p"), 1, WATCHER_TYPE_DATA), 1, "persistent matches Data");
    is_int(watch_contains(wm, P("/p"), 1, WATCHER_TYPE_CHILDREN), 1, "persistent matches Children");
    watch_add(wm, P("/r"), 1, WATCH_PERSISTENT_RECURSIVE);
    is_int(watch_contains(wm, P("/r"), 1, WATCHER_TYPE_DATA), 1, "recursive matches Data on its path");
    is_int(watch_contains(wm, P("/r"), 1, WATCHER_TYPE_CHILDREN), 0, "recursive does not match Children");
    is_int(watch_contains(wm, P("/r/x"), 1, WATCHER_TYPE_ANY), 0, "nor a descendant path");
    is_int(watch_contains(wm, P("/r"), 1, 5), WATCH_BAD_TYPE, "type 5 is bad");
    watch_free(wm);
}

static void test_remove_watcher(void)
{
    WatchManager *wm = watch_new();
    watch_add(wm, P("/a"), 1, WATCH_DATA);
    watch_add(wm, P("/a"), 1, WATCH_CHILD);
    watch_add(wm, P("/b"), 1, WATCH_PERSISTENT);
    watch_add(wm, P("/c"), 1, WATCH_PERSISTENT_RECURSIVE);
    watch_add(wm, P("/a"), 2, WATCH_DATA);
    watch_add(wm, P("/c"), 2, WATCH_CHILD);
    watch_remove_watcher(wm, 1);
    is_int(watch_mntr_count(wm), 2, "only session 2's watches remain");
    is_int(watch_recursive_count(wm), 0, "session 1's recursive watch went");
    is_int(watch_watcher_count(wm), 1, "one connection watching");
    is_str(trig(wm, "/b", ZEV_NODE_DATA_CHANGED), "", "session 1 no longer told");
    is_str(trig(wm, "/c/x", ZEV_NODE_CREATED), "", "nor through its recursive watch");
    is_str(trig(wm, "/a", ZEV_NODE_DELETED), "2", "session 2 still told");
    watch_remove_watcher(wm, 1);
    watch_remove_watcher(wm, 99);
    watch_remove_watcher(wm, 2);
    is_int(watch_mntr_count(wm) + watch_watcher_count(wm) + watch_path_count(wm), 0, "empty after both");
    is_int(watch_check(wm), 0, "invariants hold");
    watch_free(wm);
}

static void test_counts(void)
{
    WatchManager *wm = watch_new();
    is_int(watch_count(wm) + watch_path_count(wm) + watch_watcher_count(wm) + watch_mntr_count(wm), 0,
           "empty manager counts 0");
    watch_add(wm, P("/a"), 1, WATCH_DATA);
    watch_add(wm, P("/a"), 2, WATCH_DATA);
    watch_add(wm, P("/b"), 1, WATCH_DATA);
    watch_add(wm, P("/b"), 1, WATCH_CHILD);
    watch_add(wm, P("/c"), 3, WATCH_CHILD);
    watch_add(wm, P("/d"), 4, WATCH_PERSISTENT);
    watch_add(wm, P("/e"), 4, WATCH_PERSISTENT_RECURSIVE);
    /* data table: (/a,1) (/a,2) (/b,1) (/d,4) (/e,4); child: (/b,1) (/c,3) (/d,4) */
    is_int(watch_count(wm), 5, "wchs total: data-table registrations");
    is_int(watch_path_count(wm), 4, "wchs paths: /a /b /d /e");
    is_int(watch_watcher_count(wm), 3, "wchs connections: 1 2 4 (3 has child watches only)");
    is_int(watch_mntr_count(wm), 8, "mntr zk_watch_count: data + child");

    /* ZK keeps a watcher's emptied path set in watch2Paths until the
     * session goes: it is still one of the "connections watching" */
    is_str(trig(wm, "/a", ZEV_NODE_DATA_CHANGED), "1,2", "fire /a");
    is_int(watch_count(wm), 3, "total after /a fired");
    is_int(watch_path_count(wm), 3, "paths after /a fired");
    is_int(watch_watcher_count(wm), 3, "session 2 still counted with an empty set");
    watch_remove_watcher(wm, 2);
    is_int(watch_watcher_count(wm), 2, "until it closes");
    is_int(watch_remove(wm, P("/b"), 1, WATCHER_TYPE_ANY), 1, "remove /b for 1");
    is_int(watch_watcher_count(wm), 2, "removeWatches keeps the (empty) set too");
    is_int(watch_check(wm), 0, "invariants hold");
    watch_free(wm);
}

static char rep[4096];

/* ctx, when not NULL, counts down the entries to take before stopping. */
static int rep_fn(void *ctx, WatcherId w, const char *path, size_t len)
{
    snprintf(rep + strlen(rep), sizeof rep - strlen(rep), "%llu:%.*s ", (unsigned long long)w, (int)len, path);
    int *left = ctx;
    return left && --*left == 0;
}

static void rep_sess(void *ctx, WatcherId w, int64_t n)
{
    (void)ctx;
    snprintf(rep + strlen(rep), sizeof rep - strlen(rep), "[%llu/%lld] ", (unsigned long long)w, (long long)n);
}

static void rep_path(void *ctx, const char *path, size_t len, int64_t n)
{
    (void)ctx;
    snprintf(rep + strlen(rep), sizeof rep - strlen(rep), "[%.*s/%lld] ", (int)len, path, (long long)n);
}

static void test_reports(void)
{
    WatchManager *wm = watch_new();
    watch_add(wm, P("/z"), 0x30, WATCH_DATA);
    watch_add(wm, P("/a/b"), 0x10, WATCH_DATA);
    watch_add(wm, P("/a"), 0x30, WATCH_PERSISTENT);
    watch_add(wm, P("/a"), 0x10, WATCH_DATA);
    watch_add(wm, P("/m"), 0x20, WATCH_CHILD);         /* child table: not reported */
    watch_add(wm, P("/a/b"), 0x30, WATCH_PERSISTENT_RECURSIVE);
    watch_add(wm, P("/ab"), 0x10, WATCH_DATA);
    watch_add(wm, P("/"), 0xffffffffffffffffULL, WATCH_DATA);

    rep[0] = '\0';
    watch_report_by_session(wm, rep_fn, NULL);
    is_str(rep, "16:/a 16:/a/b 16:/ab 48:/a 48:/a/b 48:/z 18446744073709551615:/ ",
           "wchc: sessions ascending, paths ascending, data table only");
    rep[0] = '\0';
    watch_report_by_path(wm, rep_fn, NULL);
    is_str(rep, "18446744073709551615:/ 16:/a 48:/a 16:/a/b 48:/a/b 16:/ab 48:/z ",
           "wchp: paths ascending, sessions ascending");
    /* A callback that returns nonzero stops the report (a capped answer). */
    int left = 3;
    rep[0] = '\0';
    is_int(watch_report_by_path(wm, rep_fn, &left), 1, "wchp stopped by its callback: says so");
    is_str(rep, "18446744073709551615:/ 16:/a 48:/a ", "wchp stopped after the third entry");
    left = 4;
    rep[0] = '\0';
    is_int(watch_report_by_session(wm, rep_fn, &left), 1, "wchc stopped by its callback: says so");
    is_str(rep, "16:/a 16:/a/b 16:/ab 48:/a ", "wchc stopped after the fourth entry, across sessions");
    left = 100;
    rep[0] = '\0';
    is_int(watch_report_by_path(wm, rep_fn, &left), 0, "a report that runs to its end returns 0");

    is_str(trig(wm, "/z", ZEV_NODE_DATA_CHANGED), "48", "fire /z");
    is_str(trig(wm, "/", ZEV_NODE_DATA_CHANGED), "18446744073709551615", "fire /");
    rep[0] = '\0';
    watch_report_by_session_ex(wm, rep_sess, rep_fn, NULL);
    is_str(rep, "[16/3] 16:/a 16:/a/b 16:/ab [48/2] 48:/a 48:/a/b [18446744073709551615/0] ",
           "wchc _ex: a session whose watches fired still has its header");
    rep[0] = '\0';
    watch_report_by_path_ex(wm, rep_path, rep_fn, NULL);
    is_str(rep, "[/a/2] 16:/a 48:/a [/a/b/2] 16:/a/b 48:/a/b [/ab/1] 16:/ab ", "wchp _ex with headers");
    watch_free(wm);

    wm = watch_new();
    rep[0] = '\0';
    watch_report_by_session_ex(wm, rep_sess, rep_fn, NULL);
    watch_report_by_path_ex(wm, rep_path, rep_fn, NULL);
    is_str(rep, "", "empty manager reports nothing");
    watch_free(wm);
}

static void test_set_watches(void)
{
    WatchManager *wm = watch_new();
    /* DataTree.setWatches, relativeZxid 10 */
    is_int(watch_set_one(wm, WATCH_SET_DATA, P("/gone"), 1, 10, 0, 0, 0), ZEV_NODE_DELETED, "data: missing -> NodeDeleted");
    is_int(watch_set_one(wm, WATCH_SET_DATA, P("/new"), 1, 10, 1, 11, 0), ZEV_NODE_DATA_CHANGED, "data: mzxid > rel -> NodeDataChanged");
    is_int(watch_set_one(wm, WATCH_SET_DATA, P("/same"), 1, 10, 1, 10, 99), ZEV_NONE, "data: mzxid == rel -> watch set");
    is_int(watch_set_one(wm, WATCH_SET_EXIST, P("/there"), 1, 10, 1, 1, 1), ZEV_NODE_CREATED, "exist: exists -> NodeCreated");
    is_int(watch_set_one(wm, WATCH_SET_EXIST, P("/absent"), 1, 10, 0, 0, 0), ZEV_NONE, "exist: missing -> watch set");
    is_int(watch_set_one(wm, WATCH_SET_CHILD, P("/cgone"), 1, 10, 0, 0, 0), ZEV_NODE_DELETED, "child: missing -> NodeDeleted");
    is_int(watch_set_one(wm, WATCH_SET_CHILD, P("/cnew"), 1, 10, 1, 99, 11), ZEV_NODE_CHILDREN_CHANGED, "child: pzxid > rel -> NodeChildrenChanged");
    is_int(watch_set_one(wm, WATCH_SET_CHILD, P("/csame"), 1, 10, 1, 99, 9), ZEV_NONE, "child: pzxid <= rel -> watch set");
    is_int(watch_set_one(wm, WATCH_SET_PERSISTENT, P("/per"), 1, 10, 0, 0, 0), ZEV_NONE, "persistent: always set");
    is_int(watch_set_one(wm, WATCH_SET_PERSISTENT_RECURSIVE, P("/rec"), 1, 10, 0, 0, 0), ZEV_NONE, "recursive: always set");
    is_int(watch_has(wm, P("/same"), 1, WATCHER_TYPE_DATA), 1, "data watch registered");
    is_int(watch_has(wm, P("/absent"), 1, WATCHER_TYPE_DATA), 1, "exist watch registered in the data table");
    is_int(watch_has(wm, P("/csame"), 1, WATCHER_TYPE_CHILDREN), 1, "child watch registered");
    is_int(watch_has(wm, P("/new"), 1, WATCHER_TYPE_ANY) + watch_has(wm, P("/there"), 1, WATCHER_TYPE_ANY)
           + watch_has(wm, P("/cnew"), 1, WATCHER_TYPE_ANY), 0, "no watch where an event was due");
    is_int(watch_mntr_count(wm), 6, "data + exist + child + persistent(2) + recursive");
    is_str(trig(wm, "/rec/x", ZEV_NODE_CREATED), "1", "the recursive one works");
    watch_free(wm);
}

/* A deliver callback that re-enters the manager. */
static void reenter_deliver(void *ctx, WatcherId w, int type, const char *path, size_t len)
{
    WatchManager *wm = ctx;
    watch_add(wm, path, len, w + 100, WATCH_DATA);      /* re-arm for another id */
    nev++;
    if (w < 100)
        watch_trigger(wm, path, len, ZEV_NODE_CHILDREN_CHANGED, rec_deliver, NULL);
}

static void test_reentrant(void)
{
    WatchManager *wm = watch_new();
    for (WatcherId w = 1; w <= 50; w++)
        watch_add(wm, P("/re"), w, WATCH_DATA);
    nev = 0;
    watch_trigger(wm, P("/re"), ZEV_NODE_DATA_CHANGED, reenter_deliver, wm);
    is_int(nev, 50, "re-entrant deliver: each of 50 told once");
    is_int(watch_count(wm), 50, "the 50 watches added from deliver are there");
    is_str(trig(wm, "/re", ZEV_NODE_DATA_CHANGED),
           "101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,120,"
           "121,122,123,124,125,126,127,128,129,130,131,132,133,134,135,136,137,138,139,140,"
           "141,142,143,144,145,146,147,148,149,150", "and fire next time");
    is_int(watch_check(wm), 0, "invariants hold");
    watch_free(wm);
}

/* ---- scale -------------------------------------------------------------- */

#define BIG 100000

static unsigned char seen[BIG + 1];
static long big_told, big_dups, big_bad;

static void big_deliver(void *ctx, WatcherId w, int type, const char *path, size_t len)
{
    (void)ctx;
    if (w < 1 || w > BIG || type != (int)(intptr_t)ctx || len != 4 || memcmp(path, "/hot", 4) != 0) {
        big_bad++;
        return;
    }
    if (seen[w]++)
        big_dups++;
    big_told++;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void big_round(WatchManager *wm, int type, const char *what, long want)
{
    memset(seen, 0, sizeof seen);
    big_told = big_dups = big_bad = 0;
    double t0 = now_s();
    watch_trigger(wm, P("/hot"), type, big_deliver, (void *)(intptr_t)type);
    diag("%s: %.1f ms", what, (now_s() - t0) * 1e3);
    ok(big_told == want && big_dups == 0 && big_bad == 0, what);
}

static void test_scale(void)
{
    WatchManager *wm = watch_new();
    for (WatcherId w = 1; w <= BIG; w++) {
        watch_add(wm, P("/hot"), w, WATCH_DATA);
        watch_add(wm, P("/hot"), w, WATCH_CHILD);
    }
    watch_add(wm, P("/"), 7, WATCH_PERSISTENT_RECURSIVE);  /* also an ancestor match for 7 */
    is_int(watch_mntr_count(wm), 2 * BIG + 1, "100,000 sessions x (data + child) on one path");
    big_round(wm, ZEV_NODE_DELETED, "delete with 100,000 data+child watchers: each told exactly once", BIG);
    is_int(watch_mntr_count(wm), 1, "all one-shot watches removed");
    is_int(watch_check(wm), 0, "invariants hold");

    for (WatcherId w = 1; w <= BIG; w++)
        watch_add(wm, P("/hot"), w, WATCH_PERSISTENT);
    big_round(wm, ZEV_NODE_DATA_CHANGED, "100,000 persistent watchers told once", BIG);
    big_round(wm, ZEV_NODE_CHILDREN_CHANGED, "and again on children-changed", BIG);
    is_int(watch_mntr_count(wm), 2 * BIG + 1, "persistent watches kept");
    for (WatcherId w = 1; w <= BIG; w++)
        watch_remove_watcher(wm, w);
    is_int(watch_mntr_count(wm) + watch_recursive_count(wm) + watch_watcher_count(wm), 0,
           "remove_watcher x 100,000 (7's recursive watch too)");
    size_t pb;
    size_t mem = watch_memory(wm, &pb);
    diag("memory after emptying: %zu bytes", mem);
    ok(mem < 4096 + 16384 * sizeof(WatcherId), "memory returned after the sessions went");
    is_int(watch_check(wm), 0, "invariants hold");
    watch_free(wm);

    /* memory: one session with 10,000 watches on distinct paths */
    wm = watch_new();
    char path[64];
    for (int i = 0; i < 10000; i++) {
        snprintf(path, sizeof path, "/app/node-%06d", i);
        watch_add(wm, P(path), 42, WATCH_DATA);
    }
    size_t pb1, mem1 = watch_memory(wm, &pb1);
    double per = (double)(mem1 - pb1) / 10000;
    diag("10,000 watches: %zu bytes total, %zu for paths, %.1f per watch beyond", mem1, pb1, per);
    ok(per <= 64.0, "at most 64 bytes per watch beyond the path storage");
    for (int i = 0; i < 10000; i++) {
        snprintf(path, sizeof path, "/app/node-%06d", i);
        watch_add(wm, P(path), 43, WATCH_DATA);
    }
    size_t pb2, mem2 = watch_memory(wm, &pb2);
    is_int((long long)pb2, (long long)pb1, "a second session on the same paths adds no path storage");
    per = (double)(mem2 - mem1) / 10000;
    diag("second session: %.1f bytes per watch", per);
    ok(per <= 64.0, "and at most 64 bytes per watch");
    is_int(watch_check(wm), 0, "invariants hold");
    watch_free(wm);
}

/* ---- randomized comparison with ZooKeeper 3.8's structure ---------------- */

/*
 * The model transcribes 3.8 literally: two tables (dataWatches,
 * childWatches), each with one WatcherMode per (watcher, path) and a
 * watch2Paths key per watcher; triggerWatch walks PathParentIterator
 * (forAll only when the table has a recursive watch); DataTree decides
 * which table sees which event.
 */
enum { MN = 0, MSTD = 1, MPERS = 2, MREC = 3 };
#define NP 10
#define NS 6
static const char *mpath[NP] = { "/", "/a", "/a/b", "/a/b/c", "/a/b/c/d", "/a/d", "/ab", "/e", "/e/f", "/ab/c" };
static int mparent[NP];
typedef struct Table { int mode[NP][NS]; int key[NS]; } Table;
static Table mdata, mchild;

static int midx(const char *p)
{
    for (int i = 0; i < NP; i++)
        if (strcmp(mpath[i], p) == 0)
            return i;
    return -1;
}

static void model_init(void)
{
    char buf[64];
    for (int i = 0; i < NP; i++)
        mparent[i] = strcmp(mpath[i], "/") == 0 ? -1 : midx(parent_of(mpath[i], buf));
    memset(&mdata, 0, sizeof mdata);
    memset(&mchild, 0, sizeof mchild);
}

static void m_addwatch(Table *t, int p, int s, int mode)
{
    t->mode[p][s] = mode;   /* setWatcherMode overwrites; STANDARD = "no mode" */
    t->key[s] = 1;          /* watch2Paths.put(watcher, paths) */
}

static int m_recursive_qty(const Table *t)
{
    int n = 0;
    for (int p = 0; p < NP; p++)
        for (int s = 0; s < NS; s++)
            n += t->mode[p][s] == MREC;
    return n;
}

/* WatchManager.triggerWatch; adds the told watchers to told[]. */
static void m_trigger(Table *t, int p, int type, int told[NS])
{
    int forall = m_recursive_qty(t) > 0;
    for (int lp = p, level = 0; lp >= 0; lp = mparent[lp], level++) {
        if (level > 0 && !forall)
            break;
        for (int s = 0; s < NS; s++) {
            int m = t->mode[lp][s];
            if (m == MN)
                continue;
            if (m == MREC) {
                if (type != ZEV_NODE_CHILDREN_CHANGED)
                    told[s] = 1;
            } else if (level == 0) {
                told[s] = 1;
                if (m == MSTD)
                    t->mode[lp][s] = MN;
            }
        }
    }
}

static int m_any(const Table *t, int p)
{
    for (int s = 0; s < NS; s++)
        if (t->mode[p][s])
            return 1;
    return 0;
}

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static void test_random_vs_model(void)
{
    WatchManager *wm = watch_new();
    model_init();
    long ops = 0, mismatches = 0, checks_bad = 0, triggers = 0, told_total = 0;
    for (int iter = 0; iter < 60000; iter++) {
        int p = (int)rnd(NP), s = (int)rnd(NS);
        WatcherId w = (WatcherId)s + 1000;
        uint32_t op = rnd(100);
        ops++;
        if (op < 40) {
            int kind = 1 + (int)rnd(4);
            watch_add(wm, P(mpath[p]), w, (enum WatchKind)kind);
            switch (kind) {
            case WATCH_DATA:  m_addwatch(&mdata, p, s, MSTD); break;
            case WATCH_CHILD: m_addwatch(&mchild, p, s, MSTD); break;
            case WATCH_PERSISTENT:
                m_addwatch(&mdata, p, s, MPERS);
                m_addwatch(&mchild, p, s, MPERS);
                break;
            case WATCH_PERSISTENT_RECURSIVE: m_addwatch(&mdata, p, s, MREC); break;
            }
        } else if (op < 75) {
            static const int types[4] = { ZEV_NODE_CREATED, ZEV_NODE_DELETED, ZEV_NODE_DATA_CHANGED,
                                          ZEV_NODE_CHILDREN_CHANGED };
            int type = types[rnd(4)];
            int told[NS] = { 0 };
            if (type != ZEV_NODE_CHILDREN_CHANGED)
                m_trigger(&mdata, p, type, told);
            if (type == ZEV_NODE_DELETED || type == ZEV_NODE_CHILDREN_CHANGED)
                m_trigger(&mchild, p, type, told);      /* supress = told by data */
            nev = 0;
            watch_trigger(wm, P(mpath[p]), type, rec_deliver, NULL);
            int got[NS] = { 0 }, bad = 0;
            for (int i = 0; i < nev; i++) {
                int gs = (int)(evs[i].w - 1000);
                if (gs < 0 || gs >= NS || evs[i].type != type || strcmp(evs[i].path, mpath[p]) != 0 || got[gs]++)
                    bad = 1;
            }
            for (int i = 0; i < NS; i++)
                bad |= got[i] != told[i];
            triggers++;
            told_total += nev;
            if (bad && mismatches++ == 0)
                diag("first mismatch: iter %d, trigger %s type %d", iter, mpath[p], type);
        } else if (op < 85) {
            int type = 1 + (int)rnd(3);
            int m = 0;
            if (type != WATCHER_TYPE_DATA && mchild.mode[p][s]) {
                mchild.mode[p][s] = MN;
                m = 1;
            }
            if (type != WATCHER_TYPE_CHILDREN && mdata.mode[p][s]) {
                mdata.mode[p][s] = MN;
                m = 1;
            }
            int r = watch_remove(wm, P(mpath[p]), w, type);
            if (r != m && mismatches++ == 0)
                diag("first mismatch: iter %d, remove %s %d type %d: %d vs %d", iter, mpath[p], s, type, r, m);
        } else if (op < 95) {
            int type = 1 + (int)rnd(3);
            int m = type == WATCHER_TYPE_CHILDREN ? m_any(&mchild, p)
                  : type == WATCHER_TYPE_DATA ? m_any(&mdata, p)
                  : (m_any(&mchild, p) || m_any(&mdata, p));
            int r = watch_contains(wm, P(mpath[p]), w, type);
            int h = watch_has(wm, P(mpath[p]), w, type);
            int mh = type == WATCHER_TYPE_CHILDREN ? mchild.mode[p][s] != MN
                   : type == WATCHER_TYPE_DATA ? mdata.mode[p][s] != MN
                   : (mchild.mode[p][s] != MN || mdata.mode[p][s] != MN);
            if ((r != m || h != mh) && mismatches++ == 0)
                diag("first mismatch: iter %d, contains %s", iter, mpath[p]);
        } else {
            watch_remove_watcher(wm, w);
            for (int i = 0; i < NP; i++)
                mdata.mode[i][s] = mchild.mode[i][s] = MN;
            mdata.key[s] = mchild.key[s] = 0;
        }

        /* counters: wchs from dataWatches, mntr from both */
        int64_t dtotal = 0, ctotal = 0, dpaths = 0, keys = 0, rec = 0;
        for (int i = 0; i < NP; i++) {
            int any = 0;
            for (int j = 0; j < NS; j++) {
                dtotal += mdata.mode[i][j] != MN;
                ctotal += mchild.mode[i][j] != MN;
                rec += mdata.mode[i][j] == MREC;
                any |= mdata.mode[i][j] != MN;
            }
            dpaths += any;
        }
        for (int j = 0; j < NS; j++)
            keys += mdata.key[j];
        if ((watch_count(wm) != dtotal || watch_mntr_count(wm) != dtotal + ctotal
             || watch_path_count(wm) != dpaths || watch_watcher_count(wm) != keys
             || watch_recursive_count(wm) != rec) && mismatches++ == 0)
            diag("first mismatch: iter %d, counters", iter);
        if (iter % 64 == 0)
            checks_bad += watch_check(wm) != 0;
    }
    diag("%ld random ops, %ld triggers, %ld deliveries", ops, triggers, told_total);
    is_int(mismatches, 0, "60,000 random operations agree with the 3.8 model");
    is_int(checks_bad, 0, "invariants held throughout");
    ok(told_total > 1000, "the random run did deliver events");
    watch_free(wm);
}

int main(void)
{
    test_data_watches();
    test_child_watches();
    test_persistent();
    test_recursive();
    test_remove();
    test_contains();
    test_remove_watcher();
    test_counts();
    test_reports();
    test_set_watches();
    test_reentrant();
    test_scale();
    test_random_vs_model();
    watch_free(NULL);
    return done_testing();
}
