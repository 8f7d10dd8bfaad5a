#!/usr/bin/env python3
"""Writes the id_token_fuzz seeds (a JWKS, a newline, an ID token) that verify, so the
fuzzer starts from tokens that pass every check and mutates from there. Run from the
repository root: python3 tests/fuzz/id_token_seeds.py (needs python3-cryptography)."""
import base64, json, pathlib
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

out = pathlib.Path("tests/fuzz/corpus/id_token_fuzz")
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
num = lambda n, size: b64(n.to_bytes(size, "big"))
claims = {"iss": "https://id.example.com", "aud": "latchkey-client", "sub": "248289761001",
          "exp": 1700003600, "iat": 1700000000, "nonce": "n-0S6_WzA2Mj", "email": "alice@example.com",
          "email_verified": True}

def token(header, sign, body=claims):
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(body).encode())
    return signing_input + "." + b64(sign(signing_input.encode()))

rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
n = rsa_key.public_key().public_numbers()
rsa_jwk = {"kty": "RSA", "kid": "r1", "use": "sig", "n": num(n.n, 256), "e": num(n.e, 3)}
ec_key = ec.generate_private_key(ec.SECP256R1())
p = ec_key.public_key().public_numbers()
ec_jwk = {"kty": "EC", "kid": "e1", "crv": "P-256", "x": num(p.x, 32), "y": num(p.y, 32)}
ed_key = ed25519.Ed25519PrivateKey.generate()
from cryptography.hazmat.primitives import serialization
raw = ed_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
ed_jwk = {"kty": "OKP", "kid": "d1", "crv": "Ed25519", "x": b64(raw)}
jwks = json.dumps({"keys": [rsa_jwk, ec_jwk, ed_jwk]})

def es256(data):
    r, s = utils.decode_dss_signature(ec_key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")

seeds = {
    "rs256": token({"alg": "RS256", "kid": "r1"}, lambda d: rsa_key.sign(d, padding.PKCS1v15(), hashes.SHA256())),
    "ps256": token({"alg": "PS256", "kid": "r1"}, lambda d: rsa_key.sign(
        d, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())),
    "es256": token({"alg": "ES256", "kid": "e1"}, es256),
    "eddsa_no_kid": token({"alg": "EdDSA"}, ed_key.sign),
    "alg_none": token({"alg": "none"}, lambda d: b""),
    "hs256_with_public_key": token({"alg": "HS256", "kid": "r1"}, lambda d: b"x" * 32),
    "crit": token({"alg": "RS256", "kid": "r1", "crit": ["exp"]}, lambda d: b"\0" * 256),
    "unknown_kid": token({"alg": "RS256", "kid": "gone"}, lambda d: b"\0" * 256),
}
for name, value in seeds.items():
    (out / name).write_text(jwks + "\n" + value)
(out / "not_a_jwks").write_text('{"keys":{}}\n' + seeds["rs256"])
(out / "two_dots").write_text('{"keys":[]}\n..')
