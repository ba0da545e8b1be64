#!/usr/bin/perl
#
# src/tools/jutegen.pl: generate the C jute codec from a jute IDL file.
#
#   perl src/tools/jutegen.pl SCHEMA OUT_H OUT_C
#
# SCHEMA is a ZooKeeper jute file (src/backend/wire/zookeeper.jute): modules
# holding classes holding fields.  Field types understood: int, long, boolean,
# ustring, buffer, vector<T> (T any type, nested vectors included), and
# records named by short name (looked up in the same module first, then
# across all modules if the short name is unique) or by fully qualified name
# (org.apache.zookeeper.data.Stat).  byte, float and double are jute types
# too but ZooKeeper never uses them; they are rejected rather than guessed.
#
# For every class X it emits into OUT_H/OUT_C:
#
#   typedef struct X { ...jute field names... } X;
#   void jute_write_X(WBuf *w, const X *r);
#   int  jute_read_X(RBuf *r, Arena *a, X *out);
#   void jute_dump_X(CorralStrbuf *out, const X *r);
#
# C naming:
#   - X is the class's short name.  When two modules define the same short
#     name, the first (in file order) keeps it and every later one is
#     prefixed by its module's last component, capitalised, and an
#     underscore: org.apache.zookeeper.server.quorum.Foo -> Quorum_Foo.
#     (zookeeper.jute has no such clash today.)
#   - vector<T> becomes the shared type JuteVec_<T> where <T> is int, long,
#     bool, ustring, buffer, the record's C name, or vec_<inner> for nested
#     vectors; { int32_t count; ELEM *items; }, count -1 means null.  An alias
#     X_field_vec is also emitted for each vector field.
#   - Types: int -> int32_t, long -> int64_t, boolean -> bool,
#     ustring/buffer -> ZkBytes, record -> the struct by value.
#
# Only core Perl is used: the build must not need CPAN.

use strict;
use warnings;

die "usage: $0 SCHEMA OUT_H OUT_C\n" unless @ARGV == 3;
my ($schema, $out_h, $out_c) = @ARGV;

# ---- read and tokenize ------------------------------------------------------
open(my $in, '<', $schema) or die "$0: cannot open $schema: $!\n";
my $src = do { local $/; <$in> };
close $in;
$src =~ s/\r\n?/\n/g;

my @tok;    # [text, line]
{
    my $line = 1;
    pos($src) = 0;
    while (pos($src) < length $src) {
        if ($src =~ /\G(\s+)/gc) {
            $line += ($1 =~ tr/\n//);
        } elsif ($src =~ m{\G//[^\n]*}gc) {
        } elsif ($src =~ m{\G/\*(.*?)\*/}gcs) {
            $line += ($1 =~ tr/\n//);
        } elsif ($src =~ /\G([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)/gc) {
            push @tok, [$1, $line];
        } elsif ($src =~ /\G([{}<>;,])/gc) {
            push @tok, [$1, $line];
        } else {
            my $c = substr($src, pos($src), 1);
            die "$schema:$line: unexpected character '$c'\n";
        }
    }
}

my $ti = 0;
sub peek { return $ti < @tok ? $tok[$ti][0] : '' }
sub line_no { return $ti < @tok ? $tok[$ti][1] : ($tok[-1][1] // 0) }
sub next_tok {
    die "$schema: unexpected end of file\n" if $ti >= @tok;
    return $tok[$ti++][0];
}
sub expect {
    my ($want) = @_;
    my $l = line_no();
    my $got = next_tok();
    die "$schema:$l: expected '$want', got '$got'\n" unless $got eq $want;
}
sub ident {
    my ($what) = @_;
    my $l = line_no();
    my $got = next_tok();
    die "$schema:$l: expected $what, got '$got'\n" unless $got =~ /^[A-Za-z_]/;
    return $got;
}

# ---- parse ------------------------------------------------------------------
# A type is a hash: {kind => 'int'|'long'|'bool'|'ustring'|'buffer'|'vec'|'rec',
#                    elem => TYPE (vec), ref => name as written, mod => module (rec)}
my @classes;     # in file order: {name, module, fields => [{name, type, line}], line}
my %by_fq;       # fully qualified name -> class

my %prim = (int => 'int', long => 'long', boolean => 'bool',
            ustring => 'ustring', buffer => 'buffer');

sub parse_type {
    my ($mod) = @_;
    my $l = line_no();
    my $t = ident('a type');
    if ($t eq 'vector') {
        expect('<');
        my $e = parse_type($mod);
        expect('>');
        return {kind => 'vec', elem => $e};
    }
    return {kind => $prim{$t}} if exists $prim{$t};
    die "$schema:$l: jute type '$t' is not supported (ZooKeeper does not use it)\n"
        if $t =~ /^(byte|float|double|map)$/;
    return {kind => 'rec', ref => $t, mod => $mod, line => $l};
}

while ($ti < @tok) {
    my $l = line_no();
    my $kw = next_tok();
    die "$schema:$l: expected 'module', got '$kw'\n" unless $kw eq 'module';
    my $mod = ident('a module name');
    expect('{');
    while (peek() ne '}') {
        my $cl = line_no();
        my $ck = next_tok();
        die "$schema:$cl: expected 'class', got '$ck'\n" unless $ck eq 'class';
        my $name = ident('a class name');
        die "$schema:$cl: class name '$name' must not be qualified\n" if $name =~ /\./;
        my $c = {name => $name, module => $mod, fields => [], line => $cl};
        expect('{');
        my %seen;
        while (peek() ne '}') {
            my $fl = line_no();
            my $type = parse_type($mod);
            my $fname = ident('a field name');
            die "$schema:$fl: field name '$fname' must not be qualified\n" if $fname =~ /\./;
            die "$schema:$fl: duplicate field '$fname' in $name\n" if $seen{$fname}++;
            expect(';');
            push @{$c->{fields}}, {name => $fname, type => $type, line => $fl};
        }
        expect('}');
        my $fq = "$mod.$name";
        die "$schema:$cl: class $fq defined twice\n" if $by_fq{$fq};
        $by_fq{$fq} = $c;
        push @classes, $c;
    }
    expect('}');
}
die "$schema: no classes found\n" unless @classes;

# ---- C names ----------------------------------------------------------------
my %c_taken;
for my $c (@classes) {
    my $cn = $c->{name};
    if ($c_taken{$cn}) {
        my ($last) = $c->{module} =~ /([^.]+)$/;
        $cn = ucfirst($last) . '_' . $c->{name};
        die "$schema:$c->{line}: cannot give $c->{module}.$c->{name} a unique C name\n"
            if $c_taken{$cn};
    }
    $c_taken{$cn} = 1;
    $c->{cname} = $cn;
}

# short name -> list of classes
my %by_short;
push @{$by_short{$_->{name}}}, $_ for @classes;

sub resolve {
    my ($t) = @_;
    if ($t->{kind} eq 'vec') { resolve($t->{elem}); return; }
    return unless $t->{kind} eq 'rec';
    my $r = $t->{ref};
    my $c;
    if ($r =~ /\./) {
        $c = $by_fq{$r};
    } else {
        $c = $by_fq{"$t->{mod}.$r"};
        if (!$c && $by_short{$r} && @{$by_short{$r}} == 1) {
            $c = $by_short{$r}[0];
        }
    }
    die "$schema:$t->{line}: ambiguous record type '$r' (defined in "
        . join(', ', map { $_->{module} } @{$by_short{$r}}) . "); qualify it\n"
        if !$c && $by_short{$r};
    die "$schema:$t->{line}: unknown record type '$r'\n" unless $c;
    $t->{class} = $c;
}
resolve($_->{type}) for map { @{$_->{fields}} } @classes;

# ---- dependency order (records are embedded by value) -----------------------
my @order;
{
    my %state;    # 1 = visiting, 2 = done
    my $visit;
    $visit = sub {
        my ($c) = @_;
        return if ($state{$c->{cname}} // 0) == 2;
        die "$schema:$c->{line}: record $c->{name} contains itself\n"
            if ($state{$c->{cname}} // 0) == 1;
        $state{$c->{cname}} = 1;
        for my $f (@{$c->{fields}}) {
            my $t = $f->{type};
            $t = $t->{elem} while $t->{kind} eq 'vec';
            $visit->($t->{class}) if $t->{kind} eq 'rec';
        }
        $state{$c->{cname}} = 2;
        push @order, $c;
    };
    $visit->($_) for @classes;
}

# ---- type helpers -----------------------------------------------------------
sub tag {    # the name used in JuteVec_<tag> and the vec helpers
    my ($t) = @_;
    return 'vec_' . tag($t->{elem}) if $t->{kind} eq 'vec';
    return $t->{class}{cname} if $t->{kind} eq 'rec';
    return $t->{kind};
}
sub ctype {
    my ($t) = @_;
    my $k = $t->{kind};
    return 'int32_t' if $k eq 'int';
    return 'int64_t' if $k eq 'long';
    return 'bool' if $k eq 'bool';
    return 'ZkBytes' if $k eq 'ustring' || $k eq 'buffer';
    return $t->{class}{cname} if $k eq 'rec';
    return 'JuteVec_' . tag($t->{elem});
}
my %minsz_memo;
sub minsize {    # fewest bytes an encoded value of this type can take
    my ($t) = @_;
    my $k = $t->{kind};
    return 4 if $k eq 'int' || $k eq 'ustring' || $k eq 'buffer' || $k eq 'vec';
    return 8 if $k eq 'long';
    return 1 if $k eq 'bool';
    my $c = $t->{class};
    return $minsz_memo{$c->{cname}} //= do {
        my $s = 0;
        $s += minsize($_->{type}) for @{$c->{fields}};
        $s;
    };
}

# Vector types in dependency order (inner before outer), each once.
my @vecs;
my %vec_seen;
sub note_vec {
    my ($t) = @_;
    return unless $t->{kind} eq 'vec';
    note_vec($t->{elem});
    my $tg = tag($t);
    return if $vec_seen{$tg}++;
    push @vecs, $t;
}

# Expressions used in the generated code, per type.
sub write_stmt {
    my ($t, $expr, $ind) = @_;
    my $k = $t->{kind};
    return "${ind}wbuf_put_int(w, $expr);\n" if $k eq 'int';
    return "${ind}wbuf_put_long(w, $expr);\n" if $k eq 'long';
    return "${ind}wbuf_put_bool(w, $expr);\n" if $k eq 'bool';
    return "${ind}wbuf_put_bytes(w, $expr);\n" if $k eq 'ustring' || $k eq 'buffer';
    return "${ind}jute_write_$t->{class}{cname}(w, &$expr);\n" if $k eq 'rec';
    return "${ind}jute_write_" . tag($t) . "(w, &$expr);\n";
}
sub read_stmt {    # returns code that reads into lvalue $lv; on failure returns -1
    my ($t, $lv, $ind) = @_;
    my $k = $t->{kind};
    return "${ind}$lv = rbuf_get_int(r);\n" if $k eq 'int';
    return "${ind}$lv = rbuf_get_long(r);\n" if $k eq 'long';
    return "${ind}$lv = rbuf_get_bool(r) != 0;\n" if $k eq 'bool';
    return "${ind}$lv = rbuf_get_bytes(r);\n" if $k eq 'ustring' || $k eq 'buffer';
    return "${ind}if (jute_read_$t->{class}{cname}(r, a, &$lv) < 0)\n${ind}    return -1;\n" if $k eq 'rec';
    return "${ind}if (jute_read_" . tag($t) . "(r, a, &$lv) < 0)\n${ind}    return -1;\n";
}
sub dump_stmt {
    my ($t, $expr, $ind) = @_;
    my $k = $t->{kind};
    return "${ind}corral_strbuf_printf(out, \"%\" PRId32, $expr);\n" if $k eq 'int';
    return "${ind}corral_strbuf_printf(out, \"%\" PRId64, $expr);\n" if $k eq 'long';
    return "${ind}corral_strbuf_puts(out, ($expr) ? \"true\" : \"false\");\n" if $k eq 'bool';
    return "${ind}wire_dump_bytes(out, $expr, 0);\n" if $k eq 'ustring';
    return "${ind}wire_dump_bytes(out, $expr, WIRE_DUMP_BUFFER_MAX);\n" if $k eq 'buffer';
    return "${ind}jute_dump_$t->{class}{cname}(out, &$expr);\n" if $k eq 'rec';
    return "${ind}jute_dump_" . tag($t) . "(out, &$expr);\n";
}

for my $c (@classes) {
    note_vec($_->{type}) for @{$c->{fields}};
}

# ---- emit header ------------------------------------------------------------
my $base = $schema;
$base =~ s{.*/}{};
my $banner = "/* Generated by src/tools/jutegen.pl from $base.  DO NOT EDIT. */\n";

my $H = $banner;
$H .= <<'EOT';
/*
 * One C struct per jute class, with its writer, reader and dump function:
 *
 *   void jute_write_X(WBuf *w, const X *r);
 *   int  jute_read_X(RBuf *r, Arena *a, X *out);   0, or -1 with r->err set
 *   void jute_dump_X(CorralStrbuf *out, const X *r);  "X{field=value, ...}"
 *
 * Readers are zero copy: ustring/buffer fields are ZkBytes slices into the
 * RBuf's memory, so the decoded record lives no longer than the frame it came
 * from.  Vector item arrays come from the arena.  On failure *out holds what
 * was read so far (every field initialised, never dangling) and must not be
 * trusted.
 */
#ifndef CORRAL_JUTE_RECORDS_H
#define CORRAL_JUTE_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

#include "corral/strbuf.h"
#include "utils/alloc.h"
#include "wire/wire.h"

EOT

# vector typedefs need their element types complete: emit records and vectors
# interleaved in dependency order.
my %vec_emitted;
my %rec_emitted;
my $emit_vec_typedef;
my $emit_rec_typedef;
$emit_vec_typedef = sub {
    my ($t) = @_;
    my $tg = tag($t);
    return if $vec_emitted{$tg}++;
    my $e = $t->{elem};
    $emit_vec_typedef->($e) if $e->{kind} eq 'vec';
    $emit_rec_typedef->($e->{class}) if $e->{kind} eq 'rec';
    my $vn = ctype($t);
    $H .= "typedef struct $vn {\n    int32_t count;      /* -1: null vector */\n    "
        . ctype($e) . " *items;\n} $vn;\n\n";
};
$emit_rec_typedef = sub {
    my ($c) = @_;
    return if $rec_emitted{$c->{cname}}++;
    for my $f (@{$c->{fields}}) {
        my $t = $f->{type};
        $emit_vec_typedef->($t) if $t->{kind} eq 'vec';
        $emit_rec_typedef->($t->{class}) if $t->{kind} eq 'rec';
    }
    $H .= "/* $c->{module}.$c->{name} */\n";
    $H .= "typedef struct $c->{cname} {\n";
    for my $f (@{$c->{fields}}) {
        $H .= "    " . ctype($f->{type}) . " $f->{name};\n";
    }
    $H .= "    char jute_empty_;\n" unless @{$c->{fields}};
    $H .= "} $c->{cname};\n";
    for my $f (@{$c->{fields}}) {
        $H .= "typedef " . ctype($f->{type}) . " $c->{cname}_$f->{name}_vec;\n"
            if $f->{type}{kind} eq 'vec';
    }
    $H .= "\n";
};
$emit_rec_typedef->($_) for @order;

$H .= "/* ---- vector codecs ---- */\n";
for my $v (@vecs) {
    my $tg = tag($v);
    my $vn = ctype($v);
    $H .= "void jute_write_$tg(WBuf *w, const $vn *v);\n";
    $H .= "int jute_read_$tg(RBuf *r, Arena *a, $vn *v);\n";
    $H .= "void jute_dump_$tg(CorralStrbuf *out, const $vn *v);\n";
}
$H .= "\n/* ---- record codecs ---- */\n";
for my $c (@classes) {
    my $n = $c->{cname};
    $H .= "void jute_write_$n(WBuf *w, const $n *r);\n";
    $H .= "int jute_read_$n(RBuf *r, Arena *a, $n *out);\n";
    $H .= "void jute_dump_$n(CorralStrbuf *out, const $n *r);\n";
}
$H .= "\n/* Smallest encoding of each record, in bytes (vectors/strings empty). */\n";
for my $c (@classes) {
    $H .= "#define JUTE_MINSIZE_$c->{cname} " . minsize({kind => 'rec', class => $c}) . "\n";
}
$H .= "\n#define JUTE_RECORD_COUNT " . scalar(@classes) . "\n";
$H .= "/* Names of all records, in schema order, as \"module.Class\". */\n";
$H .= "extern const char *const jute_record_names[JUTE_RECORD_COUNT];\n";
$H .= "\n#endif /* CORRAL_JUTE_RECORDS_H */\n";

# ---- emit C -----------------------------------------------------------------
my $C = $banner;
$C .= <<'EOT';
#include <inttypes.h>
#include <string.h>

#include "jute_records.h"

EOT

for my $v (@vecs) {
    my $tg = tag($v);
    my $vn = ctype($v);
    my $e = $v->{elem};
    my $et = ctype($e);
    my $min = minsize($e);
    $min = 1 if $min < 1;
    $C .= "void jute_write_$tg(WBuf *w, const $vn *v)\n{\n";
    $C .= "    if (v->count < 0 || (v->count > 0 && v->items == NULL)) {\n";
    $C .= "        wbuf_put_int(w, -1);\n        return;\n    }\n";
    $C .= "    wbuf_put_int(w, v->count);\n";
    $C .= "    for (int32_t i = 0; i < v->count; i++)\n";
    $C .= write_stmt($e, "v->items[i]", "        ");
    $C .= "}\n\n";

    $C .= "int jute_read_$tg(RBuf *r, Arena *a, $vn *v)\n{\n";
    $C .= "    int32_t n = rbuf_get_int(r);\n";
    $C .= "    v->count = -1;\n    v->items = NULL;\n";
    $C .= "    if (r->err)\n        return -1;\n";
    $C .= "    if (n == -1)\n        return 0;\n";
    $C .= "    if (n < -1 || (size_t)n > rbuf_remaining(r) / $min) {\n";
    $C .= "        r->err = 1;\n        return -1;\n    }\n";
    $C .= "    v->count = 0;\n";
    $C .= "    if (n == 0)\n        return 0;\n";
    $C .= "    v->items = arena_zalloc(a, (size_t)n * sizeof(v->items[0]));\n";
    $C .= "    for (int32_t i = 0; i < n; i++) {\n";
    if ($e->{kind} eq 'rec' || $e->{kind} eq 'vec') {
        $C .= "        if (jute_read_" . tag($e) . "(r, a, &v->items[i]) < 0) {\n";
        $C .= "            v->count = i;\n            return -1;\n        }\n";
    } else {
        $C .= read_stmt($e, "v->items[i]", "        ");
        $C .= "        if (r->err) {\n            v->count = i;\n            return -1;\n        }\n";
    }
    $C .= "    }\n    v->count = n;\n    return 0;\n}\n\n";

    $C .= "void jute_dump_$tg(CorralStrbuf *out, const $vn *v)\n{\n";
    $C .= "    if (v->count < 0) {\n        corral_strbuf_puts(out, \"null\");\n        return;\n    }\n";
    $C .= "    corral_strbuf_puts(out, \"[\");\n";
    $C .= "    for (int32_t i = 0; i < v->count; i++) {\n";
    $C .= "        if (i)\n            corral_strbuf_puts(out, \", \");\n";
    $C .= dump_stmt($e, "v->items[i]", "        ");
    $C .= "    }\n    corral_strbuf_puts(out, \"]\");\n}\n\n";
}

for my $c (@classes) {
    my $n = $c->{cname};
    my @f = @{$c->{fields}};
    my $rp = @f ? 'r' : '';
    $C .= "/* $c->{module}.$c->{name} */\n";
    $C .= "void jute_write_$n(WBuf *w, const $n *r)\n{\n";
    $C .= "    (void)w;\n    (void)r;\n" unless @f;
    $C .= write_stmt($_->{type}, "r->$_->{name}", "    ") for @f;
    $C .= "}\n\n";

    $C .= "int jute_read_$n(RBuf *r, Arena *a, $n *out)\n{\n";
    $C .= "    (void)a;\n";
    $C .= "    memset(out, 0, sizeof(*out));\n";
    # vectors start out null, so that an early failure leaves nothing dangling
    for my $f (@f) {
        $C .= "    out->$f->{name}.count = -1;\n" if $f->{type}{kind} eq 'vec';
        $C .= "    out->$f->{name}.len = -1;\n"
            if $f->{type}{kind} eq 'ustring' || $f->{type}{kind} eq 'buffer';
    }
    $C .= read_stmt($_->{type}, "out->$_->{name}", "    ") for @f;
    $C .= "    return r->err ? -1 : 0;\n}\n\n";

    $C .= "void jute_dump_$n(CorralStrbuf *out, const $n *r)\n{\n";
    $C .= "    (void)r;\n" unless @f;
    $C .= "    corral_strbuf_puts(out, \"$n\{\");\n";
    my $first = 1;
    for my $f (@f) {
        my $sep = $first ? '' : ', ';
        $first = 0;
        $C .= "    corral_strbuf_puts(out, \"$sep$f->{name}=\");\n";
        $C .= dump_stmt($f->{type}, "r->$f->{name}", "    ");
    }
    $C .= "    corral_strbuf_puts(out, \"}\");\n}\n\n";
}

$C .= "const char *const jute_record_names[JUTE_RECORD_COUNT] = {\n";
$C .= "    \"$_->{module}.$_->{name}\",\n" for @classes;
$C .= "};\n";

# ---- write atomically -------------------------------------------------------
sub spew {
    my ($path, $text) = @_;
    my $tmp = "$path.tmp$$";
    open(my $o, '>', $tmp) or die "$0: cannot write $tmp: $!\n";
    print $o $text or die "$0: write $tmp: $!\n";
    close $o or die "$0: close $tmp: $!\n";
    rename($tmp, $path) or die "$0: rename $tmp -> $path: $!\n";
}
spew($out_h, $H);
spew($out_c, $C);
exit 0;
