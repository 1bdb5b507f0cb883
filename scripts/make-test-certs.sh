#!/bin/sh
# Test-only TLS fixtures for @iomux/loop's TLS tests and examples: a CA, a
# server certificate it signs for localhost/127.0.0.1/::1 (long validity),
# and an expired one (same CA, same names, valid in 2000-2001 only).
# Usage: scripts/make-test-certs.sh [OUTDIR]   (default examples/fixtures/tls)
# Needs the openssl CLI (1.1.1 or 3.x). Never use these keys for anything real.
set -eu
out=${1:-$(dirname "$0")/../examples/fixtures/tls}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$out"

openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 36500 \
  -subj '/CN=iomux test CA' -addext 'basicConstraints=critical,CA:TRUE' \
  -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null

cat > "$tmp/ext.cnf" <<EXT
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EXT

openssl req -newkey rsa:2048 -nodes -keyout key.pem -out "$tmp/server.csr" -subj '/CN=localhost' 2>/dev/null
openssl x509 -req -in "$tmp/server.csr" -CA ca.pem -CAkey ca-key.pem -set_serial 2 -days 36500 \
  -extfile "$tmp/ext.cnf" -out cert.pem 2>/dev/null

# Expired: `openssl ca` is the one subcommand of 1.1.1/3.0 that takes dates.
mkdir -p "$tmp/ca"
: > "$tmp/ca/index.txt"
echo 03 > "$tmp/ca/serial"
cat > "$tmp/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
dir = $tmp/ca
database = $tmp/ca/index.txt
serial = $tmp/ca/serial
new_certs_dir = $tmp/ca
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[any]
commonName = supplied
CNF
openssl req -newkey rsa:2048 -nodes -keyout expired-key.pem -out "$tmp/expired.csr" -subj '/CN=localhost' 2>/dev/null
openssl ca -batch -config "$tmp/ca.cnf" -cert ca.pem -keyfile ca-key.pem -in "$tmp/expired.csr" \
  -startdate 20000101000000Z -enddate 20010101000000Z -extfile "$tmp/ext.cnf" -notext -out expired-cert.pem 2>/dev/null
echo "wrote ca.pem ca-key.pem cert.pem key.pem expired-cert.pem expired-key.pem to $out"
