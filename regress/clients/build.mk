# regress/clients/build.mk: the C program of the real-client tests
# (regress/t/130_capi.t), built against ZooKeeper's own C client library
# (Debian libzookeeper-mt-dev) into $(BUILD)/regress-clients/.
#
# Included by the GNUmakefile.  Nothing is built when the library's header
# is missing: the test then skips (or builds the program itself with cc).
# The program is a client, not part of the server: it is built without the
# server's -Werror and sanitizers (libzookeeper_mt is not instrumented).

REGRESS_CLIENTS_DIR = $(BUILD)/regress-clients
REGRESS_CAPI_TEST   = $(REGRESS_CLIENTS_DIR)/capi_test
ZOOKEEPER_C_HEADER ?= /usr/include/zookeeper/zookeeper.h

.PHONY: regress-clients
ifneq ($(wildcard $(ZOOKEEPER_C_HEADER)),)
regress-clients: $(REGRESS_CAPI_TEST)
all: $(REGRESS_CAPI_TEST)
else
regress-clients:
	@echo "regress-clients: $(ZOOKEEPER_C_HEADER) not found (apt-get install libzookeeper-mt-dev); not built"
endif

$(REGRESS_CAPI_TEST): regress/clients/capi_test.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -pthread -o $@ $< -lzookeeper_mt
