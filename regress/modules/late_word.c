/*
 * regress/modules/late_word.c: registers an event hook and a four-letter
 * word from its start hook, i.e. after its init returned.  The core must
 * refuse both registrations and log why; the hook then reports the failure,
 * so corrald stops with exit code 3.
 */
#include <corral/module.h>

CORRAL_MODULE_MAGIC(.name = "late_word", .version = "1.0");

static CorralModule *me;

static void late_run(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out)
{
    corral_strbuf_printf(out, "too late\n");
}

static const CorralFourlw late_def = {
    CORRAL_ABI_VERSION, sizeof(CorralFourlw), "late", "registered too late", late_run, NULL, {NULL}};

static void late_connected(void *arg, const CorralClientEvent *ev)
{
    corral_log(CORRAL_LOG_INFO, "late_word", "connection %llu", (unsigned long long)ev->conn_id);
}

static const CorralHooks late_hooks = {
    .abi_version = CORRAL_ABI_VERSION, .size = sizeof(CorralHooks), .name = "late_word",
    .client_connected = late_connected};

static int late_start(void *arg)
{
    int hooks_taken = corral_register_hooks(me, &late_hooks) == 0;
    if (corral_register_fourlw(me, &late_def) == 0 || hooks_taken)
        return 0;    /* accepted: the core is wrong, and the test says so */
    corral_module_fail(me, "registering \"late\" after init was refused");
    return -1;
}

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    me = self;
    return corral_on_start(self, late_start, NULL);
}
