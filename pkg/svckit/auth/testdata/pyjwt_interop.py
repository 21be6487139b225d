#!/usr/bin/env python3
"""The other side of svckit::auth's interop test, with PyJWT and pyca/cryptography (Debian's
python3-jwt and python3-cryptography), which nobody here wrote.

usage: pyjwt_interop.py sign OUT_DIR
           new Ed25519, P-256 and RSA-2048 keys; OUT_DIR/jwks.json (their public JWKs, written here from
           the keys' numbers as RFC 7518 says) and OUT_DIR/tokens.json ({alg: token}, signed by PyJWT)
       pyjwt_interop.py verify JWKS_FILE TOKENS_FILE
           verifies each {alg: token} with PyJWT, the key taken from the JWKS by the token's kid through
           PyJWKSet; prints {alg: sub}; exits 1 when one fails, or when PyJWT accepts a tampered one
"""
import base64
import json
import pathlib
import sys
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives import serialization

ISSUER = "https://id.example"
AUDIENCE = "orders"


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def uint(n, width=0):
    length = max(width, (n.bit_length() + 7) // 8 or 1)
    return b64(n.to_bytes(length, "big"))


def sign(out):
    ed = ed25519.Ed25519PrivateKey.generate()
    p256 = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raw = ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pn = p256.public_key().public_numbers()
    rn = rsa_key.public_key().public_numbers()
    keys = [
        {"kty": "OKP", "crv": "Ed25519", "x": b64(raw), "kid": "py-ed", "use": "sig"},
        {"kty": "EC", "crv": "P-256", "x": uint(pn.x, 32), "y": uint(pn.y, 32), "kid": "py-ec", "alg": "ES256"},
        {"kty": "RSA", "n": uint(rn.n), "e": uint(rn.e), "kid": "py-rsa", "alg": "RS256"},
    ]
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "py-user", "iat": now, "exp": now + 600,
              "roles": ["admin"], "jti": "j-1"}
    tokens = {}
    for alg, key, kid in (("EdDSA", ed, "py-ed"), ("ES256", p256, "py-ec"), ("RS256", rsa_key, "py-rsa")):
        tokens[alg] = jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, "typ": "at+jwt"})
    out = pathlib.Path(out)
    (out / "jwks.json").write_text(json.dumps({"keys": keys}))
    (out / "tokens.json").write_text(json.dumps(tokens))


def verify(jwks_file, tokens_file):
    jwks = jwt.PyJWKSet.from_json(pathlib.Path(jwks_file).read_text())
    by_kid = {k.key_id: k for k in jwks.keys}
    tokens = json.loads(pathlib.Path(tokens_file).read_text())
    subjects = {}
    for alg, token in tokens.items():
        header = jwt.get_unverified_header(token)
        key = by_kid[header["kid"]]
        claims = jwt.decode(token, key.key, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER,
                            options={"require": ["exp", "iat", "sub"]})
        if header.get("typ") != "at+jwt" or header.get("alg") != alg:
            sys.exit(f"{alg}: unexpected header {header}")
        subjects[alg] = claims["sub"]
        head, payload, sig = token.split(".")
        forged = b64(json.dumps(dict(claims, sub="someone-else")).encode())
        try:
            jwt.decode(f"{head}.{forged}.{sig}", key.key, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)
        except jwt.InvalidSignatureError:
            pass
        else:
            sys.exit(f"{alg}: PyJWT accepted a tampered token")
    print(json.dumps(subjects, sort_keys=True))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "sign":
        sign(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "verify":
        verify(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
