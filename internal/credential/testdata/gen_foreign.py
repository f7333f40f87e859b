#!/usr/bin/env python3
"""Writes foreign_hashes.tsv: scheme, password, hash made by independent
implementations (Python's hashlib and the system crypt(3) via the crypt
module), plus published vectors of the reference implementations.
Run: python3 gen_foreign.py > foreign_hashes.tsv"""
import base64, hashlib, os, warnings
warnings.simplefilter("ignore")
import crypt

def b64(b):
    return base64.b64encode(b).decode().rstrip("=")

def ab64(b):  # passlib's adapted base64: '.' for '+', no padding
    return b64(b).replace("+", ".")

rows = []
def add(scheme, pw, h):
    rows.append((scheme, pw, h))

pw_ascii = "correct horse"
pw_uni = "pässwörd-ﬁx"  # NFKC changes the ligature
salt = os.urandom(16)

for name, tag in (("pbkdf2-sha1", "$pbkdf2$"), ("pbkdf2-sha256", "$pbkdf2-sha256$"), ("pbkdf2-sha512", "$pbkdf2-sha512$")):
    alg = {"pbkdf2-sha1": "sha1", "pbkdf2-sha256": "sha256", "pbkdf2-sha512": "sha512"}[name]
    key = hashlib.pbkdf2_hmac(alg, pw_uni.encode(), salt, 2900)
    add(name, pw_uni, "%s2900$%s$%s" % (tag, ab64(salt), ab64(key)))
# The PHC-standard spelling, 64-byte key as Keycloak stores.
key = hashlib.pbkdf2_hmac("sha256", pw_ascii.encode(), salt, 1000, 64)
add("pbkdf2-sha256", pw_ascii, "$pbkdf2-sha256$i=1000,l=64$%s$%s" % (b64(salt), b64(key)))
dsalt = "Zx8Ul3bA3mKq"
key = hashlib.pbkdf2_hmac("sha256", pw_ascii.encode(), dsalt.encode(), 3000)
add("pbkdf2-sha256", pw_ascii, "pbkdf2_sha256$3000$%s$%s" % (dsalt, base64.b64encode(key).decode()))
key = hashlib.pbkdf2_hmac("sha1", pw_ascii.encode(), dsalt.encode(), 3000)
add("pbkdf2-sha1", pw_ascii, "pbkdf2_sha1$3000$%s$%s" % (dsalt, base64.b64encode(key).decode()))
key = hashlib.scrypt(pw_uni.encode(), salt=salt, n=1 << 10, r=8, p=1, dklen=32)
add("scrypt", pw_uni, "$scrypt$ln=10,r=8,p=1$%s$%s" % (b64(salt), b64(key)))
add("bcrypt", pw_ascii, crypt.crypt(pw_ascii, "$2b$04$" + ab64(os.urandom(16))[:22].replace(".", "/")))
add("bcrypt", pw_uni, crypt.crypt(pw_uni, "$2y$05$abcdefghijklmnopqrstuu"))
add("sha512-crypt", pw_uni, crypt.crypt(pw_uni, "$6$" + "s4ltS4lt"))
add("sha512-crypt", pw_ascii, crypt.crypt(pw_ascii, "$6$rounds=1500$" + "averylongsaltthatistruncated"))
add("sha256-crypt", pw_uni, crypt.crypt(pw_uni, "$5$" + "s4ltS4lt"))
add("sha256-crypt", pw_ascii, crypt.crypt(pw_ascii, "$5$rounds=2000$" + "Q9xq.b/c"))
add("md5-crypt", pw_uni, crypt.crypt(pw_uni, "$1$" + "s4ltS4lt"))
add("md5-crypt", "x", crypt.crypt("x", "$1$" + "ab"))
for name, alg, tag in (("ssha", "sha1", "{SSHA}"), ("ssha512", "sha512", "{SSHA512}")):
    s = os.urandom(8)
    d = hashlib.new(alg, pw_ascii.encode() + s).digest()
    add(name, pw_ascii, tag + base64.b64encode(d + s).decode())
s = os.urandom(12)
add("salted-sha256", pw_ascii, "$salted-sha256$o=sp$%s$%s" % (b64(s), b64(hashlib.sha256(s + pw_ascii.encode()).digest())))
add("salted-sha256", pw_uni, "$salted-sha256$o=ps$%s$%s" % (b64(s), b64(hashlib.sha256(pw_uni.encode() + s).digest())))
# Published vector of the argon2 reference implementation (phc-winner-argon2 test.c).
add("argon2i", "password", "$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$iekCn0Y3spW+sCcFanM2xBT63UP2sghkUoHLIUpWRS8")
for r in rows:
    print("\t".join(r))
