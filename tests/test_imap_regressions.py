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


def test_sent_dates_use_the_day_written_in_the_date_header(example):
    # imaptest "search-date": SENTON/SENTBEFORE/SENTSINCE disregard time and timezone
    # (RFC 9051 §6.4.4), so 00:00 +0200 on the 25th is the 25th although it is the 24th in UTC.
    dates = ["Sat, 24 Mar 2007 23:00:00 +0200", "Sun, 25 Mar 2007 00:00:00 +0200",
             "Sun, 25 Mar 2007 23:00:00 -0500", "Mon, 26 Mar 2007 00:00:00 +0300"]
    c = example.imap()
    try:
        for i, date in enumerate(dates):
            msg = (f"From: a@example.test\r\nSubject: d{i}\r\nDate: {date}\r\n\r\nbody\r\n").encode()
            assert c.append("INBOX", None, None, msg)[0] == "OK"
        c.select("INBOX")
        for query, want in [("SENTBEFORE 25-Mar-2007", b"1"), ("SENTON 25-Mar-2007", b"2 3"),
                            ("SENTSINCE 26-Mar-2007", b"4"), ("NOT SENTON 25-Mar-2007", b"1 4")]:
            typ, data = c.search(None, query)
            assert typ == "OK" and data == [want], (query, data)
    finally:
        c.logout()
