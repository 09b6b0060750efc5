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


def append(server, *messages):
    c = server.imap()
    try:
        for m in messages:
            assert c.append("INBOX", None, None, m)[0] == "OK"
    finally:
        c.logout()


def msg(subject, extra="", body="body\r\n"):
    return f"From: a@example.test\r\nSubject: {subject}\r\n{extra}\r\n{body}".encode()


def test_a_new_keyword_resends_flags_before_the_fetch_that_shows_it(example):
    # imaptest: RFC 9051 §7.3.5, FLAGS must list every keyword a FETCH may show.
    append(example, msg("k"))
    with session(example) as c, session(example) as other:
        c.cmd("s", "SELECT INBOX")
        other.cmd("s", "SELECT INBOX")
        lines = c.cmd("a", "STORE 1 +FLAGS ($Important)")
        flags_at = next(i for i, l in enumerate(lines) if l.startswith(b"* FLAGS ("))
        fetch_at = next(i for i, l in enumerate(lines) if b"FETCH" in l)
        assert flags_at < fetch_at and b"$Important" in lines[flags_at], lines
        assert any(l.startswith(b"* OK [PERMANENTFLAGS (") and b"$Important" in l for l in lines)
        # The other session learns of it when the change reaches it, also before the FETCH.
        lines = other.cmd("b", "NOOP")
        assert [l for l in lines if l.startswith(b"* FLAGS")], lines
        assert lines.index(next(l for l in lines if l.startswith(b"* FLAGS"))) < \
            lines.index(next(l for l in lines if b"FETCH" in l)), lines


def test_fetch_modseq_turns_condstore_on(example):
    # RFC 7162 §3.1: after FETCH (MODSEQ), flag changes are reported with their MODSEQ.
    append(example, msg("m"))
    with session(example) as c:
        c.cmd("s", "SELECT INBOX")
        assert any(b"FETCH (MODSEQ (" in l for l in c.cmd("a", "FETCH 1 (MODSEQ)"))
        lines = c.cmd("b", "STORE 1 +FLAGS (\\Seen)")
        assert b"MODSEQ (" in lines[0], lines


def test_fetch_of_a_message_expunged_elsewhere_is_never_unavailable(example):
    # imaptest stress: another session's expunge, not yet reported here, must not look like a
    # storage failure (NO [UNAVAILABLE]); the body is served or the answer is EXPUNGEISSUED.
    append(example, msg("gone", body="x" * 40000 + "\r\n"))
    with session(example) as c, session(example) as other:
        c.cmd("s", "SELECT INBOX")
        other.cmd("s", "SELECT INBOX")
        other.cmd("a", "STORE 1 +FLAGS.SILENT (\\Deleted)")
        assert other.cmd("b", "EXPUNGE")[-1].startswith(b"b OK")
        for i in range(20):
            tagged = c.cmd(f"f{i}", "FETCH 1 (BODY.PEEK[])")[-1]
            assert not tagged.startswith(f"f{i} NO [UNAVAILABLE]".encode()), tagged
            assert tagged.startswith(f"f{i} OK".encode()) or b"[EXPUNGEISSUED]" in tagged, tagged


def test_search_text_looks_in_the_header(example):
    # imaptest search-body: TEXT matches header and body, BODY only the body.
    append(example, msg("plain", extra="X-Label: zanzibar\r\n"), msg("other"))
    c = example.imap()
    try:
        c.select("INBOX")
        assert c.search(None, "TEXT", "zanzibar") == ("OK", [b"1"])
        assert c.search(None, "BODY", "zanzibar") == ("OK", [b""])
    finally:
        c.logout()


def test_examine_shows_recent_without_claiming_it(example):
    # imaptest: EXAMINE reports \Recent messages but leaves them recent for the next SELECT.
    append(example, msg("r1"), msg("r2"))
    with session(example) as c:
        assert b"* 2 RECENT" in c.cmd("a", "EXAMINE INBOX")
        assert b"* 2 RECENT" in c.cmd("b", "SELECT INBOX")
        assert b"* 0 RECENT" in c.cmd("c", "SELECT INBOX")


def test_esort_all_joins_runs(example):
    # ESORT ALL is a sequence set; consecutive numbers are written as a range.
    append(example, msg("a"), msg("b"), msg("c"))
    with session(example) as c:
        c.cmd("s", "SELECT INBOX")
        lines = c.cmd("a", "SORT RETURN (ALL) (SUBJECT) UTF-8 ALL")
        assert b'* ESEARCH (TAG "a") ALL 1:3' in lines, lines


def test_from_search_matches_the_parsed_address_despite_comments(example):
    # imaptest search-addresses: `<user-from (comment)@ (comment) domain.org>` is
    # user-from@domain.org.
    append(example, "From: <user-from (comment)@ (comment) domain.org>\r\nSubject: c\r\n\r\nb\r\n".encode(),
           msg("other"))
    c = example.imap()
    try:
        c.select("INBOX")
        assert c.search(None, "FROM", "user-from@domain.org") == ("OK", [b"1"])
    finally:
        c.logout()


def test_sort_cc_uses_a_groups_name_as_its_first_mailbox(example):
    # imaptest sort-addresses: the first address of `user2: blah@domain1.org;` is the group
    # marker, whose mailbox is the group name (RFC 5256 §3), so it sorts as "user2".
    append(example, msg("1", extra="Cc: user2@domain2.org (foo bar)\r\n"),
           msg("2", extra="Cc: user2: blah@domain1.org;\r\n"),
           msg("3", extra="Cc: user1@domain1.org\r\n"))
    with session(example) as c:
        c.cmd("s", "SELECT INBOX")
        assert b"* SORT 3 1 2" in c.cmd("a", "SORT (CC) US-ASCII ALL")
        assert b"* SORT 1 2 3" in c.cmd("b", "SORT (REVERSE CC) US-ASCII ALL")


def test_first_condstore_command_reports_highestmodseq(example):
    # imaptest esearch-condstore: RFC 7162 §3.1, a CONDSTORE-enabling command in the selected
    # state is answered with the mailbox's HIGHESTMODSEQ, once.
    append(example, msg("h"))
    with session(example) as c:
        c.cmd("s", "SELECT INBOX")
        first = c.cmd("a", "FETCH 1 (MODSEQ)")
        assert any(l.startswith(b"* OK [HIGHESTMODSEQ ") for l in first), first
        again = c.cmd("b", "FETCH 1 (MODSEQ)")
        assert not any(b"HIGHESTMODSEQ" in l for l in again), again


def test_esearch_min_max_report_the_modseq_of_the_message_returned(example):
    # imaptest esearch-condstore: RFC 7162 §3.1.5.
    append(example, msg("1"), msg("2"), msg("3"))
    with session(example) as c:
        c.cmd("s", "SELECT INBOX")
        c.cmd("a", "STORE 1 +FLAGS (\\Seen)")
        c.cmd("b", "STORE 3 +FLAGS (\\Seen)")
        modseqs = {}
        for line in c.cmd("c", "FETCH 1:3 (MODSEQ)"):
            if line.startswith(b"* ") and b" FETCH " in line:
                seq = int(line.split()[1])
                modseqs[seq] = int(line.split(b"MODSEQ (")[1].split(b")")[0])
        lo = c.cmd("d", "SEARCH RETURN (MIN) 1:3 MODSEQ 1")
        assert f'* ESEARCH (TAG "d") MIN 1 MODSEQ {modseqs[1]}'.encode() in lo, (lo, modseqs)
        hi = c.cmd("e", "SEARCH RETURN (MAX) MODSEQ 1")
        assert f'* ESEARCH (TAG "e") MAX 3 MODSEQ {modseqs[3]}'.encode() in hi, (hi, modseqs)


def test_thread_references_groups_replies_by_subject(example):
    # imaptest thread3: a duplicate Message-ID counts as none, and a "Re:" root joins the
    # thread of its subject (RFC 5256 §3 steps 1A and 5).
    append(example, "Message-Id: <a@b>\r\nSubject: foo\r\n\r\nbody\r\n".encode(),
           "Message-Id: <a@b>\r\nSubject: Re: foo\r\n\r\nbody\r\n".encode())
    with session(example) as c:
        c.cmd("s", "SELECT INBOX")
        assert b"* THREAD (1 2)" in c.cmd("a", "THREAD REFERENCES US-ASCII ALL")


def test_binary_of_quoted_printable_drops_trailing_white_space(example):
    # imaptest fetch-binary-mime-qp: white space at a line end is transport padding.
    body = ("Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            "hello  \r\nfoo =\r\n=62\r\n").encode()
    append(example, body)
    with session(example) as c:
        c.cmd("s", "SELECT INBOX")
        lines = c.cmd("a", "FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])")
        assert b"BINARY[1] {14}\r\nhello\r\nfoo b\r\n" in lines[0], lines
        assert b"BINARY.SIZE[1] 14" in lines[0], lines


def test_sort_displayto_uses_a_groups_name(example):
    # imaptest sort-display-to: RFC 5957 §3, a group sorts by its name.
    append(example, msg("1", extra="To: foo bar <a@b.c>\r\n"),
           msg("2", extra="To: z: aa@aa.org, bb@bb.org;\r\n"),
           msg("3", extra="To: b@c.d\r\n"),
           msg("4", extra="To: a: xx@xx.org, yy@yy.org;\r\n"))
    with session(example) as c:
        c.cmd("s", "SELECT INBOX")
        assert b"* SORT 4 3 1 2" in c.cmd("a", "SORT (DISPLAYTO) US-ASCII ALL")


def test_thread_placeholder_does_not_jump_ahead_of_a_message_of_the_same_date(example):
    # imaptest thread5: threads with equal dates are ordered by their first message, and a
    # placeholder (missing parent) counts as its earliest child.
    c = example.imap()
    try:
        date = '"01-Jan-2020 00:00:00 +0000"'
        for mid, parent in [("3@b", "1@b"), ("4@b", "2@b"), ("5@b", "2@b")]:
            m = f"Message-Id: <{mid}>\r\nIn-Reply-To: <{parent}>\r\n\r\nbody\r\n".encode()
            assert c.append("INBOX", None, date, m)[0] == "OK"
        c.select("INBOX")
        typ, data = c.thread("REFERENCES", "US-ASCII", "ALL")
        assert typ == "OK" and data == [b"(1)((2)(3))"], data
    finally:
        c.logout()
