# The two commands of the README. Python 3.11 is the only prerequisite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Test processes (pytest-xdist): the browser, live-server and worker tests wait
# more than they compute, so two processes help even on two cores.
TEST_WORKERS ?= 2
# pytest-randomly shuffles the order (with the workers too) and the run ends with the seed; replay it with
# .venv/bin/python -m pytest -p randomly --randomly-seed=N.

.PHONY: run test install messages migrate demo worker beat clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

# The compiled translations (docs/i18n.md); only the .po catalogues are committed. Django's
# compilemessages needs GNU gettext's msgfmt; where it is missing Babel compiles the same catalogues. Its
# messages are silenced: its own check misreads a percent sign in entries marked no-python-format (it still
# writes them), and msgfmt's check (CI, .ci/run) with tests/i18n/test_catalogues.py hold the catalogues.
messages: install
	@if command -v msgfmt >/dev/null 2>&1; then \
		$(BIN)/python manage.py compilemessages --ignore=.venv --verbosity 0; \
	else \
		for po in locale/*/LC_MESSAGES/django.po */locale/*/LC_MESSAGES/django.po; do \
			[ -f "$$po" ] && $(BIN)/pybabel --quiet compile --input-file "$$po" --output-file "$${po%.po}.mo" 2>/dev/null || true; \
		done; \
	fi

migrate: messages
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo

# With DATABASE_URL and REDIS_URL set, a Celery worker (with beat) runs beside
# the web server; without them tasks run eagerly in the web process. DEBUG is on
# so that runserver serves the static files; production runs gunicorn instead.
run: export DEBUG ?= true
run: demo
	@if [ -n "$$REDIS_URL" ]; then \
		$(BIN)/celery -A config worker --beat --loglevel=INFO --concurrency=2 & \
		trap 'kill $$!' EXIT; \
		$(BIN)/python manage.py runserver $(HOST):$(PORT); \
	else \
		$(BIN)/python manage.py runserver $(HOST):$(PORT); \
	fi

test: messages
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

worker: install
	$(BIN)/celery -A config worker --loglevel=INFO

beat: install
	$(BIN)/celery -A config beat --loglevel=INFO

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles tests/artifacts
	find . -name '*.mo' -path '*/locale/*' -not -path './.venv/*' -delete
