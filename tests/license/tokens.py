# Access tokens for the licence service's tests, as the identity service makes them: EdDSA (Ed25519)
# JWTs with typ at+jwt and a kid, claims iss, aud, sub, roles, authority, jti, iat, exp.
#   tokens.py init DIR   → DIR/idp.pem (the private key) and DIR/jwks.json (its public JWKS)
# Imported: Minter(DIR).token(sub, roles, authority=None, ttl=600) and .forged(...) (same kid, another key).
import base64, json, os, sys, time, uuid
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ISSUER, AUDIENCE, KID = "https://id.test", "license", "idp-test-1"

def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def raw_public(key):
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

def init(d):
    key = Ed25519PrivateKey.generate()
    with open(os.path.join(d, "idp.pem"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64(raw_public(key)), "kid": KID, "alg": "EdDSA", "use": "sig"}
    with open(os.path.join(d, "jwks.json"), "w") as f:
        json.dump({"keys": [jwk]}, f)

class Minter:
    def __init__(self, d):
        with open(os.path.join(d, "idp.pem"), "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), None)

    def sign(self, key, sub, roles, authority=None, ttl=600, iat=None):
        now = int(time.time()) if iat is None else iat
        header = {"alg": "EdDSA", "typ": "at+jwt", "kid": KID}
        claims = {"iss": ISSUER, "aud": [AUDIENCE], "sub": str(sub), "roles": roles, "jti": str(uuid.uuid4()),
                  "iat": now, "exp": now + ttl}
        if authority is not None:
            claims["authority"] = authority
        signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
        return signing_input + "." + b64(key.sign(signing_input.encode()))

    def token(self, sub, roles, authority=None, ttl=600, iat=None):
        return self.sign(self.key, sub, roles, authority, ttl, iat)

    def forged(self, sub, roles, authority=None):
        return self.sign(Ed25519PrivateKey.generate(), sub, roles, authority)

if __name__ == "__main__" and sys.argv[1] == "init":
    init(sys.argv[2])
