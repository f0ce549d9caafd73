#!/usr/bin/env bash
# Installs Debian packages wirelab needs, or says exactly how to: by default what it builds
# against; `make test` also asks for tshark (the packet-capture check) and python3-venv (the
# Python peers' virtual environment).
set -euo pipefail
wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(libedit-dev pkg-config curl)
needed=()
for package in "${wanted[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || needed+=("$package")
done
[ ${#needed[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "wirelab needs: ${needed[*]}. Install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${needed[*]}" >&2
  exit 1
fi
echo "installing ${needed[*]} …"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${needed[@]}" >/dev/null
