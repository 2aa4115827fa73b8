#!/usr/bin/env bash
# Installs the Debian 12 packages rafs builds, tests and runs with (see the
# README's dependency list). Asks apt only when something is missing.
set -euo pipefail
packages=(
  build-essential cmake pkg-config
  libarchive-dev libzstd-dev liblz4-dev libssl-dev zlib1g-dev libisal-dev
  libcli11-dev nlohmann-json3-dev doctest-dev libfuse3-dev fuse3 libcurl4-openssl-dev
  b3sum tree tar gzip zstd attr python3 python3-jsonschema umoci skopeo
  docker-registry apache2-utils openssl curl
  clang libclang-rt-14-dev
)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "ci/deps.sh: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
