/*
 * src/modules/auth_digest/java_utf8.c: what Java's `new String(bytes)`
 * (UTF-8, replacement on error) followed by getBytes(UTF_8) makes of a byte
 * string.
 *
 * ZooKeeper's DigestAuthenticationProvider.handleAuthentication turns the
 * addauth bytes into a String before hashing them, so a password that is
 * not valid UTF-8 (a Latin-1 byte from a C client, say) is hashed with
 * U+FFFD (EF BF BD) in place of each malformed sequence.  To give such a
 * client the same identity, and so keep ACLs copied from ZooKeeper working,
 * we replace exactly the bytes Java 17's String.decodeUTF8_UTF16 replaces:
 * its rules differ from Unicode's "maximal subpart" for surrogates encoded
 * in UTF-8 (one U+FFFD for the three bytes) and for a truncated sequence at
 * the very end (one U+FFFD for the rest of the input).
 * regress/t/300_auth_digest.t compares this with the installed Java.
 *
 * Java keeps U+0000 in strings; identities here are C strings, so the
 * caller refuses input holding a NUL byte (doc/auth.md).
 */
#include <string.h>

#include "java_utf8.h"

static const unsigned char repl[3] = {0xef, 0xbf, 0xbd};

static int cont(unsigned b) { return (b & 0xc0) == 0x80; }

static size_t put_repl(unsigned char *out, size_t o)
{
    memcpy(out + o, repl, 3);
    return o + 3;
}

size_t java_utf8_sanitize(const unsigned char *in, size_t n, unsigned char *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        unsigned b1 = in[i++];
        if (b1 < 0x80) {
            out[o++] = (unsigned char)b1;
        } else if ((b1 & 0xe0) == 0xc0 && (b1 & 0x1e) != 0) {
            /* two bytes: C2..DF */
            if (i < n) {
                if (!cont(in[i])) {
                    o = put_repl(out, o);
                } else {
                    out[o++] = (unsigned char)b1;
                    out[o++] = in[i++];
                }
                continue;
            }
            o = put_repl(out, o);
            break;
        } else if ((b1 & 0xf0) == 0xe0) {
            /* three bytes: E0..EF */
            if (i + 1 < n) {
                unsigned b2 = in[i], b3 = in[i + 1];
                if ((b1 == 0xe0 && (b2 & 0xe0) == 0x80) || !cont(b2) || !cont(b3)) {
                    o = put_repl(out, o);
                    /* malformed3: skip b1 alone, or b1 b2 when b2 was fine */
                    if (!((b1 == 0xe0 && (b2 & 0xe0) == 0x80) || !cont(b2)))
                        i++;
                } else {
                    unsigned c = (b1 & 0x0f) << 12 | (b2 & 0x3f) << 6 | (b3 & 0x3f);
                    if (c >= 0xd800 && c <= 0xdfff) {
                        o = put_repl(out, o);   /* a surrogate: the three bytes go */
                    } else {
                        out[o++] = (unsigned char)b1;
                        out[o++] = (unsigned char)b2;
                        out[o++] = (unsigned char)b3;
                    }
                    i += 2;
                }
                continue;
            }
            if (i < n && ((b1 == 0xe0 && (in[i] & 0xe0) == 0x80) || !cont(in[i]))) {
                o = put_repl(out, o);
                continue;
            }
            o = put_repl(out, o);
            break;
        } else if ((b1 & 0xf8) == 0xf0) {
            /* four bytes: F0..F7 */
            if (i + 2 < n) {
                unsigned b2 = in[i], b3 = in[i + 1], b4 = in[i + 2];
                unsigned uc = (b1 & 0x07) << 18 | (b2 & 0x3f) << 12 | (b3 & 0x3f) << 6 | (b4 & 0x3f);
                if (!cont(b2) || !cont(b3) || !cont(b4) || uc < 0x10000 || uc > 0x10ffff) {
                    o = put_repl(out, o);
                    /* malformed4: 1, 2 or 3 bytes */
                    if (b1 > 0xf4 || (b1 == 0xf0 && (b2 < 0x90 || b2 > 0xbf)) ||
                        (b1 == 0xf4 && (b2 & 0xf0) != 0x80) || !cont(b2))
                        ;
                    else if (!cont(b3))
                        i += 1;
                    else
                        i += 2;
                } else {
                    out[o++] = (unsigned char)b1;
                    out[o++] = (unsigned char)b2;
                    out[o++] = (unsigned char)b3;
                    out[o++] = (unsigned char)b4;
                    i += 3;
                }
                continue;
            }
            if (b1 > 0xf4 ||
                (i < n && ((b1 == 0xf0 && (in[i] < 0x90 || in[i] > 0xbf)) ||
                           (b1 == 0xf4 && (in[i] & 0xf0) != 0x80) || !cont(in[i])))) {
                o = put_repl(out, o);
                continue;
            }
            i++;
            o = put_repl(out, o);
            if (i < n && !cont(in[i]))
                continue;
            break;
        } else {
            o = put_repl(out, o);
        }
    }
    return o;
}
