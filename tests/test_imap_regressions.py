"""Regression tests for IMAP bugs found by imaptest (docs/imaptest.md), one per bug."""

from yubintest import ALICE, HOST, PASSWORD, RawImap

# RFC 3501 atom characters that are not valid modified UTF-7 ("&'" opens no base64 run).
BAD_UTF7 = "!#$&'+,-.0123456789:;<=>?@^_`|[}"


def session(server) -> RawImap:
    c = RawImap(HOST, server.imap_port)
    assert c.cmd("l", f'LOGIN "{ALICE}" "{PASSWORD}"')[-1].startswith(b"l OK")
    return c


def test_undecodable_mailbox_name_is_no_not_bad(example):
    # imaptest "atoms": SELECT of such a name is NO, LIST with it as a pattern is OK.
    with session(example) as c:
        assert c.cmd("a", f"SELECT {BAD_UTF7}")[-1].startswith(b"a NO ")
        assert c.cmd("b", f"CREATE {BAD_UTF7}")[-1].startswith(b"b NO ")
        lines = c.cmd("c", f'LIST "" {BAD_UTF7}%*')
        assert lines[-1].startswith(b"c OK"), lines
        assert lines[:-1] == [], lines
        assert c.cmd("d", f'LSUB "" {BAD_UTF7}*')[-1].startswith(b"d OK")
        assert c.cmd("e", 'LIST "" ~foo')[-1].startswith(b"e OK")
        assert c.cmd("f", "SELECT ~foo")[-1].startswith(b"f NO ")
