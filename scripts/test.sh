#!/usr/bin/env bash
# Install what the tests need and run them. README's test command and .ci/run both call this script.
set -euo pipefail
cd "$(dirname "$0")/.."

# torch==2.13.0 is the CPU build; pip's default would fetch a multi-GB CUDA build.
python3 -m pip install --quiet --disable-pip-version-check torch==2.13.0 -e ".[test]"

export HF_HUB_OFFLINE=1
python3 -m pytest "$@"
