# Sourced by the set-up commands: make .venv and install aidledger into it (once per pyproject change).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
EXTRAS="${1:-}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
STAMP="$VENV/.aidledger-installed-$(cat "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)${EXTRAS:+-$EXTRAS}"
# The test install holds everything the plain one does: a machine set up for the tests runs the demo as it is.
if [ ! -f "$STAMP" ] && { [ -n "$EXTRAS" ] || [ ! -f "$STAMP-test" ]; }; then
    # (grep drops a warning about a package index folder this machine's pip config names but lacks)
    { "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip \
        && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT${EXTRAS:+[$EXTRAS]}"; } \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
