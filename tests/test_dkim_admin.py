"""`yubin admin dkim ...`: keys of hosted domains and the DNS records an operator publishes."""

import base64
import os
import re
import stat

from yubintest import DOMAIN

# One zone-file TXT record: owner name, class, type, then quoted strings of at most 255 octets.
RECORD_RE = re.compile(r'^(?P<name>\S+)\. IN TXT (?P<strings>(?:"[^"]{1,255}" ?)+)$')
# DER SubjectPublicKeyInfo prefix of an RSA key: SEQUENCE, AlgorithmIdentifier rsaEncryption.
RSA_SPKI_PREFIX = bytes.fromhex("30820122300d06092a864886f70d0101010500")


def assert_error(res, text):
    assert res.rc == 1, f"expected exit 1, got {res.rc}; stdout={res.stdout!r}"
    assert re.search(r"^error: \S", res.stderr, re.M), res.stderr
    assert text in res.stderr, res.stderr


def records(out: str) -> dict[str, dict[str, str]]:
    """The TXT records in a zone-file fragment, by owner name, as tag -> value."""
    found = {}
    for line in out.splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        m = RECORD_RE.match(line)
        assert m, f"not a zone-file TXT record: {line!r}"
        value = "".join(re.findall(r'"([^"]*)"', m["strings"]))
        tags = dict(part.strip().split("=", 1) for part in value.split(";") if part.strip())
        found[m["name"]] = tags
    return found


def der_length(data: bytes, pos: int) -> tuple[int, int]:
    """A DER length at `pos`: (length, position after it)."""
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    n = first & 0x7F
    return int.from_bytes(data[pos + 1:pos + 1 + n], "big"), pos + 1 + n


def rsa_modulus_bits(spki: bytes) -> int:
    assert spki.startswith(RSA_SPKI_PREFIX), spki[:24].hex()
    pos = len(RSA_SPKI_PREFIX)
    assert spki[pos] == 0x03  # BIT STRING holding RSAPublicKey
    _, pos = der_length(spki, pos + 1)
    assert spki[pos] == 0x00  # no unused bits
    assert spki[pos + 1] == 0x30  # SEQUENCE { modulus, exponent }
    _, pos = der_length(spki, pos + 2)
    assert spki[pos] == 0x02  # INTEGER modulus
    length, pos = der_length(spki, pos + 1)
    modulus = int.from_bytes(spki[pos:pos + length], "big")
    return modulus.bit_length()


def key_file(srv, selector: str, domain: str = DOMAIN) -> str:
    return os.path.join(srv.data, "dkim", f"{selector}._domainkey.{domain}.pem")


def test_generate_makes_rsa_and_ed25519_keys_and_prints_their_records(example):
    out = example.admin("dkim", "generate", DOMAIN).stdout
    found = records(out)
    rsa_name = f"yubin-rsa._domainkey.{DOMAIN}"
    ed_name = f"yubin-ed25519._domainkey.{DOMAIN}"
    assert set(found) == {rsa_name, ed_name}, out

    rsa = found[rsa_name]
    assert (rsa["v"], rsa["k"]) == ("DKIM1", "rsa")
    assert rsa_modulus_bits(base64.b64decode(rsa["p"], validate=True)) == 2048
    ed = found[ed_name]
    assert (ed["v"], ed["k"]) == ("DKIM1", "ed25519")
    assert len(base64.b64decode(ed["p"], validate=True)) == 32  # RFC 8463 §4.2: raw key

    # The RSA value is longer than one TXT string may be.
    rsa_line = next(line for line in out.splitlines() if line.startswith(rsa_name))
    assert rsa_line.count('"') >= 4, rsa_line

    for selector in ("yubin-rsa", "yubin-ed25519"):
        path = key_file(example, selector)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, oct(os.stat(path).st_mode)
        with open(path) as f:
            pem = f.read()
        assert pem.startswith("-----BEGIN PRIVATE KEY-----\n"), pem[:40]
        assert pem.rstrip().endswith("-----END PRIVATE KEY-----")
        assert path in out  # the comment names the file
    assert stat.S_IMODE(os.stat(os.path.join(example.data, "dkim")).st_mode) == 0o700


def test_list_show_and_remove(example):
    first = example.admin("dkim", "generate", DOMAIN).stdout
    example.admin("dkim", "generate", DOMAIN, "--algorithm", "ed25519", "--selector", "Rotation2")
    listed = [line.split("\t") for line in example.admin("dkim", "list").stdout.splitlines()]
    assert listed == [
        [DOMAIN, "rotation2", "ed25519"],
        [DOMAIN, "yubin-ed25519", "ed25519"],
        [DOMAIN, "yubin-rsa", "rsa"],
    ]

    shown = records(example.admin("dkim", "show", DOMAIN).stdout)
    assert len(shown) == 3
    for name, tags in records(first).items():
        assert shown[name] == tags, name

    out = example.admin("dkim", "remove", DOMAIN, "yubin-rsa").stdout
    assert "removed" in out
    assert not os.path.exists(key_file(example, "yubin-rsa"))
    assert [line.split("\t")[1] for line in example.admin("dkim", "list").stdout.splitlines()] == [
        "rotation2", "yubin-ed25519"]
    assert_error(example.admin("dkim", "remove", DOMAIN, "yubin-rsa", check=False), "no DKIM key")

    example.admin("dkim", "remove", DOMAIN, "rotation2")
    example.admin("dkim", "remove", DOMAIN, "yubin-ed25519")
    assert example.admin("dkim", "list").stdout == ""
    assert_error(example.admin("dkim", "show", DOMAIN, check=False), "no DKIM keys")


def test_generate_refuses_unknown_domains_and_existing_selectors(example):
    assert_error(example.admin("dkim", "generate", "elsewhere.test", check=False), "no such domain")
    assert not os.path.exists(os.path.join(example.data, "dkim", "yubin-rsa._domainkey.elsewhere.test.pem"))

    example.admin("dkim", "generate", DOMAIN, "--algorithm", "rsa")
    with open(key_file(example, "yubin-rsa")) as f:
        before = f.read()
    # The default pair includes yubin-rsa: nothing is generated, not even the Ed25519 half.
    assert_error(example.admin("dkim", "generate", DOMAIN, check=False), "already")
    assert not os.path.exists(key_file(example, "yubin-ed25519"))
    with open(key_file(example, "yubin-rsa")) as f:
        assert f.read() == before

    bad = example.admin("dkim", "generate", DOMAIN, "--selector", "x", check=False)
    assert bad.rc == 2 and "--algorithm" in bad.stderr, bad.stderr  # --selector needs --algorithm
    assert_error(example.admin("dkim", "generate", DOMAIN, "--algorithm", "rsa", "--selector", "a.b",
                               check=False), "not a valid selector")


def test_keys_made_without_a_server_are_seen_by_one(make_server):
    srv = make_server(start=False)
    srv.admin("domain", "add", "Offline.Test")
    out = srv.admin("dkim", "generate", "OFFLINE.test", "--algorithm", "ed25519").stdout
    assert list(records(out)) == ["yubin-ed25519._domainkey.offline.test"]
    srv.start()
    assert srv.admin("dkim", "list").stdout == "offline.test\tyubin-ed25519\ted25519\n"
    # ...and keys made through the running server are files the next process reads.
    srv.admin("dkim", "generate", "offline.test", "--algorithm", "rsa")
    srv.stop()
    assert len(srv.admin("dkim", "list").stdout.splitlines()) == 2
