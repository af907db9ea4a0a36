#!/usr/bin/env bash
# Makes the project's virtualenv at $1 from requirements.txt. The Makefile names it after
# the hash of requirements.txt, so it is made once per set of pins and reused by every
# checkout on this machine (CI's fresh clones too).
set -euo pipefail
venv=$1
[ -f "$venv/.complete" ] && exit 0

if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  echo "bootstrap: python3's venv module is missing; installing python3-venv." >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo=sudo; else
    echo "bootstrap: run 'apt-get install -y python3-venv' as root, then try again." >&2
    exit 1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
fi

echo "bootstrap: making the virtualenv $venv (once per requirements.txt)." >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements.txt
touch "$venv/.complete"
