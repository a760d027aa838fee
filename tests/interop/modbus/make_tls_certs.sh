#!/bin/sh
# Test certificates for Modbus/TCP Security, made at run time (no key is ever
# committed): make_tls_certs.sh DIR writes into DIR
#   ca.pem/.key           the test CA
#   other-ca.pem/.key     a CA nobody trusts
#   server.pem/.key       the server (SAN IP:127.0.0.1, DNS:localhost), by ca
#   operator, viewer      clients with the role extension 1.3.6.1.4.1.50316.802.1
#                         (ASN.1 UTF8String "operator" / "viewer"), by ca
#   norole                a client without the role extension, by ca
#   stranger              a client with role "operator", by other-ca
#   badrole               a client whose role extension is an INTEGER, not a UTF8String
#   expired               a client valid for one day in 2020, by ca
# Exit status 1 with openssl's words when something fails.
set -u
D=$1
mkdir -p "$D" || exit 1
q() { "$@" > "$D/openssl.log" 2>&1 || { echo "openssl failed: $*: $(cat "$D/openssl.log")" >&2; exit 1; }; }
q openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/ca.key" -out "$D/ca.pem" -days 2 -subj /CN=plcio-test-ca
q openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/other-ca.key" -out "$D/other-ca.pem" -days 2 -subj /CN=other-ca
sign() { # sign NAME CA EXTENSION-LINE
  q openssl req -newkey rsa:2048 -nodes -keyout "$D/$1.key" -out "$D/$1.csr" -subj "/CN=$1"
  printf '%s\n' "$3" > "$D/$1.ext"
  q openssl x509 -req -in "$D/$1.csr" -CA "$D/$2.pem" -CAkey "$D/$2.key" -CAcreateserial -out "$D/$1.pem" -days 2 \
    -extfile "$D/$1.ext"
}
ROLE=1.3.6.1.4.1.50316.802.1
sign server ca "subjectAltName=IP:127.0.0.1,DNS:localhost"
sign operator ca "$ROLE=ASN1:UTF8String:operator"
sign viewer ca "$ROLE=ASN1:UTF8String:viewer"
sign norole ca "basicConstraints=CA:FALSE"
sign stranger other-ca "$ROLE=ASN1:UTF8String:operator"
sign badrole ca "$ROLE=ASN1:INTEGER:7"
# expired: openssl x509 of OpenSSL 3.0 cannot date a certificate in the past; openssl ca can
printf '[ca]\ndefault_ca=t\n[t]\ndatabase=%s/index\nnew_certs_dir=%s\nserial=%s/serial\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n' \
  "$D" "$D" "$D" > "$D/ca.cnf"
: > "$D/index"
echo 01 > "$D/serial"
q openssl req -newkey rsa:2048 -nodes -keyout "$D/expired.key" -out "$D/expired.csr" -subj /CN=expired
q openssl ca -config "$D/ca.cnf" -batch -notext -in "$D/expired.csr" -cert "$D/ca.pem" -keyfile "$D/ca.key" \
  -startdate 20200101000000Z -enddate 20200102000000Z -out "$D/expired.pem"
exit 0
