# Link the SASL module with Cyrus SASL (Debian: libsasl2-dev; the DIGEST-MD5
# plugin it loads at run time is in libsasl2-modules).
MODULE_LIBS_auth_sasl = -lsasl2
