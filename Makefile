# The two front-door commands are `make demo` and `make test`; the rest are parts of them.
PYTHON ?= python3
# Django 6.x needs Python >= 3.12; pyenv's 3.13 when there is one, else python3.13 on PATH.
PYTHON313 ?= $(shell p=$$(pyenv prefix 3.13.0 2>/dev/null) && echo $$p/bin/python || command -v python3.13)
VENV := .venv
VENV6 := .venv-django6
PIP_QUIET := -q --disable-pip-version-check
DATABASES := sqlite postgres mariadb

.PHONY: demo test test-django52 test-django61 test-django-suite system-deps bench lint clean

demo: $(VENV)/.demo
	cd example && ../$(VENV)/bin/python manage.py migrate -v0
	cd example && ../$(VENV)/bin/python manage.py demo

$(VENV)/.demo: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_QUIET) -e .
	touch $@

# mysqlclient compiles against the MariaDB client headers.
system-deps:
	@pkg-config --exists libmariadb 2>/dev/null || pkg-config --exists mariadb 2>/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmariadb-dev pkg-config)

$(VENV)/.test: pyproject.toml | system-deps
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_QUIET) -e ".[test,lint]" "Django>=5.2,<5.3"
	touch $@

$(VENV6)/.test: pyproject.toml | system-deps
	test -d $(VENV6) || $(PYTHON313) -m venv $(VENV6)
	$(VENV6)/bin/pip install $(PIP_QUIET) -e ".[test,test-wagtail]" "Django>=6.1,<6.2"
	touch $@

test: lint test-django52 test-django61

# ruff and mypy (with django-stubs for 5.2) on the package, the tests, the demo and the benchmarks.
lint: $(VENV)/.test
	$(VENV)/bin/ruff check django_simple_queue tests example bench
	$(VENV)/bin/ruff format --check django_simple_queue tests example bench
	$(VENV)/bin/mypy

test-django52: $(VENV)/.test
	@for db in $(DATABASES); do \
		echo "== Django 5.2 / Python 3.11 / $$db"; \
		DSQ_DB=$$db $(VENV)/bin/python -m pytest $(PYTEST_ARGS) || exit 1; \
	done

test-django61: $(VENV6)/.test
	@for db in $(DATABASES); do \
		echo "== Django 6.1 / Python 3.13 / $$db"; \
		DSQ_DB=$$db $(VENV6)/bin/python -m pytest $(PYTEST_ARGS) || exit 1; \
	done
	@$(MAKE) --no-print-directory test-django-suite

# Django's own tests of its tasks framework, fetched from its source release into tmp/ and
# run against SimpleQueueBackend with a real worker (docs/django-tests.md).
test-django-suite: $(VENV6)/.test
	@$(VENV6)/bin/python -m tests.django_suite.fetch >/dev/null
	@for db in $(DATABASES); do \
		echo "== Django's tasks tests / Django 6.1 / $$db"; \
		DSQ_DB=$$db DSQ_RUN=$${DSQ_RUN:-dsq}_django $(VENV6)/bin/python -m pytest \
			--ds tests.django_suite.settings tests/django_suite || exit 1; \
	done

bench: $(VENV)/.test
	$(VENV)/bin/python bench/throughput.py --database sqlite
	$(VENV)/bin/python bench/throughput.py --database postgres

clean:
	rm -rf $(VENV) $(VENV6) tmp example/db.sqlite3
