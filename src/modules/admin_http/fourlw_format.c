/*
 * src/modules/admin_http/fourlw_format.c: the fourlw module's pure
 * formatting helpers (Java's Double.toString and BigDecimal rounding for
 * the averages, directory sizes for `dirs`, tick rounding for `dump`),
 * compiled into this module as well so that the JSON answers carry the
 * same numbers as the four-letter words.  Hidden symbols; see
 * src/modules/fourlw/fourlw_format.h.
 */
#include "../fourlw/fourlw_format.c"
