#!/usr/bin/env bash
# Install everything flowkit needs to build and test, from Debian's packages only.
# Idempotent: packages already present are skipped without touching apt.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev llvm
  libpcap-dev libssl-dev liblz4-dev libyaml-dev
  libprotobuf-c-dev protobuf-c-compiler protobuf-compiler librdkafka-dev libcmocka-dev
  tshark softflowd nfdump pmacct tcpreplay kcat iproute2 python3 time
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PKGS[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer once, non-interactively.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
