#!/usr/bin/env bash
# Throwaway certificates for the TLS tests, with the openssl CLI, into DIR:
#   ca.pem/ca.key            a CA
#   server.pem/server.key    localhost, 127.0.0.1 (signed by ca)
#   server2.pem/server2.key  the same names, another key and serial (a rotation)
#   client.pem/client.key    CN=orders, SAN URI spiffe://svckit.test/ns/gov/sa/orders (signed by ca)
#   other-ca.pem, rogue.pem/rogue.key  a client certificate from a CA the servers do not trust
# usage: make_certs.sh DIR
set -euo pipefail
d=$1
mkdir -p "$d"
cd "$d"
ossl() { openssl "$@" 2>/dev/null; }
ca() {  # name subject
  ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.pem" -days 2 \
    -subj "$2" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
leaf() {  # name subject san ca usage
  ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2"
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$3" "$5" >"$1.ext"
  ossl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" -set_serial "0x$(openssl rand -hex 8)" -days 2 \
    -extfile "$1.ext" -out "$1.pem"
  rm -f "$1.csr" "$1.ext"
}
ca ca "/CN=svckit test CA"
ca other-ca "/CN=another CA"
leaf server "/CN=localhost" "DNS:localhost,IP:127.0.0.1" ca serverAuth
leaf server2 "/CN=localhost" "DNS:localhost,IP:127.0.0.1" ca serverAuth
leaf client "/O=gov/CN=orders" "URI:spiffe://svckit.test/ns/gov/sa/orders" ca clientAuth
leaf rogue "/CN=rogue" "URI:spiffe://svckit.test/ns/gov/sa/rogue" other-ca clientAuth
