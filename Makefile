# The two commands: `make run` and `make test`. Everything they need is
# found, installed or started by scripts/ (see README).
.PHONY: run test generate lint migration bench

run:
	@scripts/run.sh

test:
	@scripts/test.sh

# Regenerate ent and gqlgen code (committed; never edited by hand).
generate:
	go generate ./...

lint:
	gofmt -l . | (! grep .)
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.7.0 ./...

# Load harness: ingestion, authorize, GraphQL balance, pgbench baselines,
# one table with ratios; results under bench/results/. ARGS="-short" smokes.
bench:
	go run ./bench $(ARGS)

# New versioned migration from the ent schema: make migration NAME=add_x
migration:
	@scripts/migration.sh $(NAME)
