# Imprimatur: the single entry point. Every target installs what it needs by itself.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

.PHONY: install run test test-fast lint format synth checkov bootstrap deploy bench openapi admin-key audit clean

# --compile-bytecode: the dependencies' bytecode is written once here. Without it, an environment that sets
# PYTHONDONTWRITEBYTECODE (this machine does) compiles boto3, moto, pydantic... from source in every new interpreter
# (about 1 s each: the e2e servers, the CLI tests, the cold-start samples), and Lambda, whose runtime and bundled
# dependencies carry their bytecode, would be measured wrongly by P2. Our own code stays source, as deployed.
$(STAMP): pyproject.toml sdk/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check uv==0.13.8
	$(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) -e '.[dev]' -e './sdk[cli]'
	touch $(STAMP)

install: $(STAMP)

## make run: the whole marketplace locally (embedded AWS), with demo data; ARGS="--no-seed --port 9090"
run: install
	$(PY) -m local.server $(ARGS)

## make audit: the ledger's money invariants against `make run` (or a deployed stack: STACK=Imprimatur-dev); exits 1 on any violation
audit: install
	$(PY) -m functions.metering.audit_cli $(if $(STACK),--stack $(STACK),) $(ARGS)

## make test: lint, the OpenAPI freshness check and every test suite (unit, integration, infra, e2e); the unit tier's
## property tests at full depth (IMPRIMATUR_DEEP=1, tests/unit/depth.py)
test: install lint checkov
	$(PY) -m local.openapi --check
	IMPRIMATUR_DEEP=1 $(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -q -p no:cacheprovider tests/unit tests/integration $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy functions local infra sdk/imprimatur_client
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pylint --disable=all --enable=duplicate-code --min-similarity-lines=8 functions local sdk

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## make checkov: checkov over the synthesized template, from its own virtual environment (its pins clash with
## moto's); every skipped check is listed with its reason in infra/checkov.py (about 25 s plus a synth)
CHECKOV_VENV    := .venv-checkov
CHECKOV_VERSION := 3.2.334

$(CHECKOV_VENV)/.installed:
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q --disable-pip-version-check checkov==$(CHECKOV_VERSION)
	touch $@

checkov: install $(CHECKOV_VENV)/.installed
	$(PY) -m infra.checkov

## make synth: CloudFormation template in cdk.out/, gated by cdk-nag (AwsSolutions) and cfn-lint
synth: install
	$(PY) -m infra.synth $(if $(STAGE),--stage $(STAGE),)

CDK      := npx --yes aws-cdk@2.1148.1
APPROVAL ?= broadening

## make bootstrap: prepare the AWS account and region of your current credentials for CDK (once per account/region)
bootstrap: install
	$(CDK) bootstrap

## make deploy: deploy to the AWS account of your current credentials (STAGE=dev for a named copy); without a terminal
## (CI) pass APPROVAL=never, as CDK cannot ask for the approval of security-relevant changes there
deploy: synth
	$(CDK) deploy --app cdk.out --require-approval $(APPROVAL) $(if $(STAGE),Imprimatur-$(STAGE),Imprimatur)

## make admin-key: create the first admin account and key on a deployed stack (uses your AWS credentials)
admin-key: install
	$(PY) -m functions.accounts.bootstrap --stack $(or $(STACK),Imprimatur) --email $(EMAIL)

bench: install
	$(PY) -m benchmarks.run

openapi: install
	$(PY) -m local.openapi

clean:
	rm -rf .build cdk.out .imprimatur .pytest_cache .mypy_cache .ruff_cache
