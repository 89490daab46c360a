#!/usr/bin/env bash
# Creates agents/python/.venv with the pinned dependencies (+pytest). Idempotent: when the venv already
# has exactly these pins installed it returns in well under a second.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "setup-venv.sh: $python not found; the kreorg Python agent needs Python >= 3.9" >&2
  exit 1
fi
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)'; then
  echo "setup-venv.sh: $("$python" --version 2>&1) is too old; the kreorg Python agent needs Python >= 3.9" >&2
  exit 1
fi
pins="$here/requirements.lock"
stamp="$venv/.kreorg-installed"
want="$(cat "$pins" "$here/pyproject.toml" | cksum)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$pins"
# The package itself is put on the venv's path with a .pth file (no build step, no setuptools download).
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$here" > "$site/kreorg_agent_src.pth"
echo "$want" > "$stamp"
