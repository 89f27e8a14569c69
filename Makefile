# KVStore: `make run` and `make test` set up everything they need on a fresh Debian machine.
SWIFT        ?= swift
APT_PACKAGES := zlib1g-dev liblz4-dev pkg-config
# The tests drive the server with Debian's redis-cli and redis-benchmark (and `script`),
# compare its replies with Debian's redis-server, run Redis's own suite (tcl), run the
# Python client libraries from PyPI in a virtual environment (python3-venv), and shard over
# several servers behind twemproxy (nutcracker).
TEST_PACKAGES := redis-tools redis-server bsdutils tcl python3 python3-venv nutcracker
# The server comparison runs Debian's redis-server beside kvserver; peerbench-rel needs
# snappy, zstd and bzip2 at run time; /usr/bin/time measures peak RSS.
BENCH_PACKAGES := redis-tools redis-server libsnappy1v5 libzstd1 libbz2-1.0 time python3 python3-venv
DATA_DIR     ?= ./data
PORT         ?= 6380
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps test-deps bench-deps build release run demo test client-tests stress crash fuzz tsan asan bench server-bench clean example docs bench-scale soak cluster ha replication-bench big-collections

all: build

# Installs the apt packages that are missing (and only then runs apt-get update).
define apt_install
	@missing=""; \
	for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
endef

deps:
	$(call apt_install,$(APT_PACKAGES))

test-deps: deps
	$(call apt_install,$(TEST_PACKAGES))

bench-deps: deps
	$(call apt_install,$(BENCH_PACKAGES))

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# The server on 127.0.0.1:$(PORT) with its data in $(DATA_DIR); Ctrl-C stops it gracefully.
run: release
	.build/release/kvserver --bind 127.0.0.1 --port $(PORT) --dir $(DATA_DIR)

# Three servers serving one keyspace behind twemproxy (nutcracker, installed when missing):
# ketama consistent hashing, the proxy on 127.0.0.1:22121, the nodes on 7380-7382, data under
# ./cluster-data; Ctrl-C stops all four. NODES=, BASE_PORT=, PROXY_PORT= choose
# (Tools/cluster/run.sh, docs/SCALING.md).
cluster: release
	bash Tools/cluster/run.sh

# A primary, two replicas and three Redis Sentinels that fail over to a replica when the
# primary dies: nodes on 7390-7392, sentinels on 26379-26381, data and configs under ./ha-data;
# Ctrl-C stops all six. REPLICAS=, BASE_PORT=, SENTINEL_PORT= choose (Tools/ha/run.sh,
# docs/SCALING.md).
ha: release
	bash Tools/ha/run.sh

# The embedding demonstration: write, close, reopen, read back.
demo: release
	.build/release/kvdemo ./demo-data

# Builds every target (the tests spawn the kvcrash, kvserver and ReadmeExample executables),
# runs the Swift suite in one process, then the real-client suites against the debug
# kvserver: redis-py and valkey-py from PyPI plus the reply oracle (Tests/clients, pinned in
# a venv under .build/), and Redis 7.0.15's own tests from ../shared (Tools/redis-tests).
test: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(MAKE) --no-print-directory example
	bash Tools/clients/run.sh
	bash Tools/redis-tests/against-kvserver.sh

# The randomized model test at length (seeded; the seed is printed for replay with KV_SEED=),
# and kvserver killed under collection writers TYPE_KILL_CYCLES times.
STRESS_OPS ?= 400000
TYPE_KILL_CYCLES ?= 20
stress: deps
	$(SWIFT) build --build-tests
	KV_MODEL_OPS=$(STRESS_OPS) $(SWIFT) test --skip-build --filter 'modelBasedRandomizedOperations'
	KV_TYPE_KILL_CYCLES=$(TYPE_KILL_CYCLES) $(SWIFT) test --skip-build --filter 'killNineUnderCollectionWriters'

# The crash test at length: a multi-threaded stress process killed with SIGKILL at random
# moments, the store checked against its journal after each restart. Seeds are printed;
# replay one with SEED=.
CYCLES   ?= 100
DURATION ?= 3
CRASH_DIR ?= /tmp/kvcrash-$(shell date +%s)
crash: deps
	$(SWIFT) build -c release --product kvcrash
	.build/release/kvcrash drive --dir $(CRASH_DIR) --cycles $(CYCLES) --duration $(DURATION) $(if $(SEED),--seed $(SEED),)

# libFuzzer over every decoder of on-disk bytes and the server's request handling (resp),
# FUZZ_SECONDS each (or FUZZ_RUNS executions each, when set), in FUZZ_JOBS parallel workers
# per target (Tools/fuzz/run.sh), starting from the committed corpora in Tests/FuzzCorpus (new
# inputs go to .build-fuzz/corpus; crashes to .build-fuzz/artifacts: add each to
# Tests/FuzzCorpus/<target>/ as a regression input).
FUZZ_SECONDS ?= 30
FUZZ_JOBS ?= 1
FUZZ_TARGETS := wal manifest table block resp
fuzz: deps
	$(SWIFT) build -c release --product kvfuzz --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address \
	  -Xswiftc -parse-as-library -Xswiftc -DFUZZING --scratch-path .build-fuzz
	bash Tools/fuzz/run.sh $(if $(FUZZ_RUNS),--runs $(FUZZ_RUNS),--seconds $(FUZZ_SECONDS)) --jobs $(FUZZ_JOBS) $(FUZZ_TARGETS)

# Every reliability check at issue #18's volumes (hours), one summary table, non-zero exit on
# any loss or crash (Tools/soak/run.sh). SOAK_SCALE=100 is a few-minute smoke run.
soak: test-deps
	bash Tools/soak/run.sh

# The concurrency tests under ThreadSanitizer (own scratch path: a sanitized build).
tsan: test-deps
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	$(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan --filter 'Concurrency|syncWALRunsBeside|concurrentIncrements|msetIsSeenWhole|tenThousandPipelined|hostileInput|TransactionTests|WriteStallTests|AsyncAPITests|openEndedDeleteRangeIsOneAtomicWrite'

asan: test-deps
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --skip-build --sanitize=address --scratch-path .build-asan

# kvbench against LevelDB and RocksDB (../shared/peerbench), alternating, ROUNDS rounds of
# NUM operations: medians, ratios, peak RSS, write amplification, p99.9, group commit, then
# the read workloads with --compression=none for all three (docs/BENCHMARKS.md).
# QUICK=1: one round of 200,000 operations, about two minutes.
NUM ?= 1000000
bench: bench-deps
	$(SWIFT) build -c release --product kvbench
	$(if $(QUICK),bash Tools/bench/run.sh 1 200000,bash Tools/bench/run.sh $(ROUNDS) $(NUM))

# The scale tier: 10M keys by default (NUM= on the command line for more), one round
# (SCALE_ROUNDS=), fillrandom, overwrite, readrandom, readwhilewriting, seekrandom, readseq for
# the three engines alternating: ops/s, write latency tail, stalls, write amplification, space,
# peak RSS and peak anonymous memory (Tools/bench/scale.sh; about 15 minutes a round here).
SCALE_ROUNDS ?= 1
bench-scale: bench-deps
	$(SWIFT) build -c release --product kvbench
	bash Tools/bench/scale.sh $(SCALE_ROUNDS) $(if $(filter command line,$(origin NUM)),$(NUM),10000000) 1000000

# redis-benchmark against kvserver (--fsync everysec) and Debian's redis-server (AOF,
# everysec), alternating, ROUNDS times: SET, GET and MGET of ten keys at -P 1 and 16; prints
# medians and ratios (docs/BENCHMARKS.md).
# Then the never-freeze rows: HEAVY_REQUESTS SETs of 100 and 1,000 bytes at -P 16 with a
# probe connection timing a GET every 5 ms (Tools/server-bench/heavy-write.sh). Then the data
# types: redis-benchmark -t lpush,…,lrange_100 and HGET/ZSCORE/ZRANGEBYSCORE lines, TYPE_REQUESTS
# each (Tools/server-bench/types.sh).
ROUNDS ?= 3
REQUESTS ?= 1000000
HEAVY_REQUESTS ?= 2000000
TYPE_REQUESTS ?= 200000
server-bench: bench-deps release
	bash Tools/server-bench/compare.sh $(ROUNDS) $(REQUESTS)
	bash Tools/server-bench/heavy-write.sh $(ROUNDS) $(HEAVY_REQUESTS) "100 1000"
	bash Tools/server-bench/types.sh $(ROUNDS) $(TYPE_REQUESTS)

# Replication under load (issue #28): SET -P16 on a primary alone and with a replica attached
# (the ratio, the replica's lag), then a full synchronisation of a SYNC_MB store with the
# primary's GET latency meanwhile (Tools/server-bench/replication.sh).
SYNC_MB ?= 2048
replication-bench: bench-deps release
	bash Tools/server-bench/replication.sh $(ROUNDS) $(REQUESTS) $(SYNC_MB)

# Larger than memory: a sorted set and a hash of BIG_N elements each (10M by default) built
# through kvserver; ZRANGEBYSCORE/ZRANK/HGET latency, DEL latency, space after a full
# compaction, peak RSS (Tools/server-bench/big-collections.py; docs/BENCHMARKS.md).
BIG_N ?= 10000000
big-collections: bench-deps release
	$(SWIFT) build -c release --product kvctl
	python3 Tools/server-bench/big-collections.py .build/release/kvserver .build/release/kvctl $(BIG_N)

# The real-client suites alone (after a build): Python clients and the reply oracle, then
# Redis's own tests.
client-tests: test-deps
	$(SWIFT) build --product kvserver
	bash Tools/clients/run.sh
	bash Tools/redis-tests/against-kvserver.sh

clean:
	rm -rf .build .build-tsan .build-asan

# A separate package (Examples/AsyncExample) that depends on the KVStore library product by
# path and runs the async API: it must build without warnings and print "ok".
example: deps
	mkdir -p .build && ln -sfn "$(CURDIR)" .build/KVStore
	$(SWIFT) build --package-path Examples/AsyncExample --scratch-path .build/examples
	.build/examples/debug/AsyncExample

# The libraries' DocC documentation (Sources/KVStore/KVStore.docc, Sources/KVCollections/KVCollections.docc),
# warnings as errors; CI runs it.
docs: deps
	rm -rf .build/docs && mkdir -p .build/docs
	$(SWIFT) package --allow-writing-to-directory .build/docs generate-documentation --target KVStore \
	  --warnings-as-errors --output-path .build/docs/KVStore.doccarchive
	$(SWIFT) package --allow-writing-to-directory .build/docs generate-documentation --target KVCollections \
	  --warnings-as-errors --output-path .build/docs/KVCollections.doccarchive
