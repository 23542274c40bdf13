# The two set-up commands of the README: `make setup` then `make demo` / `make test`.
# Every run is driven by a config under configs/; these targets only chain the tools.
VENV        ?= .venv
PY          := $(VENV)/bin/python
PIP         := $(VENV)/bin/pip
# Fonts of the synthetic watermark (Latin sans faces incl. the Arial-metric Liberation
# Sans whose I/l are pixel-identical at this size, and a CJK face for the 抖音号 prefix).
FONT_PACKAGES := fonts-liberation fonts-dejavu-core fonts-freefont-ttf fonts-wqy-microhei

.PHONY: setup fonts test demo

setup: fonts $(VENV)/.installed

fonts:
	@missing=$$(for p in $(FONT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian font packages:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: requirements.txt setup.py
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# exact pin: an unpinned torch makes pip pull a multi-GB CUDA build
	$(PIP) install -q torch==2.13.0
	# --no-deps: its declared dependencies add ~430 MB that training never uses;
	# requirements.txt lists what it really needs at run time
	$(PIP) install -q --no-deps openocr-python==0.1.5
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q --no-deps -e .
	touch $@

test: $(VENV)/.installed
	$(PY) -m pytest
