#!/usr/bin/env bash
# Builds an offline stand-in for the public Python base image from Debian
# packages (debootstrap), for machines that cannot pull from Docker Hub.
# It carries the host's CA bundle and pip settings so pip works inside it.
# Usage: build-base-image.sh [TAG]   (prints the tag it built or found)
set -euo pipefail
tag="${1:-scaffold-base:bookworm-py3}"
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag"
  exit 0
fi
command -v debootstrap >/dev/null || {
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
}
root="$(mktemp -d /tmp/scaffold-rootfs.XXXXXX)"
trap 'rm -rf "$root"' EXIT
mirror="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
debootstrap --variant=minbase \
  --include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates,tini \
  bookworm "$root" "$mirror" >&2
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
cat > "$root/etc/pip.conf" <<'CONF'
[global]
cert = /etc/ssl/certs/ca-certificates.crt
disable-pip-version-check = true
timeout = 180
break-system-packages = true
root-user-action = ignore
CONF
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV PIP_BREAK_SYSTEM_PACKAGES=1' \
  --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
  --change 'ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["python3"]' - "$tag" >&2
echo "$tag"
