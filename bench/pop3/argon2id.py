"""Argon2id hashes for Dovecot's passwd-file with Yubin's parameters (bench/pop3).

Yubin stores Argon2id with the argon2 crate's defaults: m=19456 KiB, t=2, p=1. Dovecot 2.3.19's
own `doveadm pw -s ARGON2ID` always makes m=65536, t=3 (-r does not change it), so the hashes
are made with libsodium, the library Dovecot verifies ARGON2ID with: both servers then do the
same work per password check.

Usage: python3 argon2id.py PASSWORD COUNT  -> COUNT lines, each a fresh-salt {ARGON2ID} hash.
"""

import ctypes
import sys

M_COST_KIB = 19456
T_COST = 2
ALG_ARGON2ID13 = 2  # crypto_pwhash_ALG_ARGON2ID13


def main() -> None:
    password, count = sys.argv[1].encode(), int(sys.argv[2])
    sodium = ctypes.CDLL("libsodium.so.23")
    if sodium.sodium_init() < 0:
        sys.exit("libsodium did not initialise")
    out = ctypes.create_string_buffer(128)  # crypto_pwhash_STRBYTES
    for _ in range(count):
        rc = sodium.crypto_pwhash_str_alg(
            out,
            password,
            ctypes.c_ulonglong(len(password)),
            ctypes.c_ulonglong(T_COST),
            ctypes.c_size_t(M_COST_KIB * 1024),
            ctypes.c_int(ALG_ARGON2ID13),
        )
        if rc != 0:
            sys.exit("crypto_pwhash_str_alg failed")
        hashed = out.value.decode()
        if f"$m={M_COST_KIB},t={T_COST},p=1$" not in hashed:
            sys.exit(f"unexpected parameters in {hashed}")
        print("{ARGON2ID}" + hashed)


if __name__ == "__main__":
    main()
