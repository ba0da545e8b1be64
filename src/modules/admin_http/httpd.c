/*
 * src/modules/admin_http/httpd.c: the HTTP server shared with
 * metrics_prometheus, compiled into this module too (each module is one .so
 * built from its own directory; the symbols are hidden, so the two copies
 * never meet).  See src/modules/metrics_prometheus/httpd.h.
 */
#include "../metrics_prometheus/httpd.c"
