/*
 * src/modules/admin_http/views.c: the admin views of the fourlw module
 * (server statistics, configuration, environment, mntr keys, watches,
 * dump), compiled into this module as well: the JSON answers render the
 * same views as the four-letter words' text.  Hidden symbols; see
 * src/modules/fourlw/views.h for why this is not in the core.
 */
#include "../fourlw/views.c"
