"""`yubin admin queue ...`: mail for a remote alias target waits in the outbound queue.

The queue runner takes a queued message at any moment, so the server relays to a port where
nothing listens (every attempt is a temporary failure and the mail stays queued) and what the
queue holds is inspected with the server stopped: the CLI then opens the store itself and
nothing else touches the queue. Against the running server (over the admin socket) only what
does not depend on the runner is asserted.
"""

import re

from yubintest import ALICE, make_message, new_msgid

SENDER = "sender@remote.test"
FORWARD = "fwd@example.test"
REMOTE = "someone@elsewhere.test"


def assert_error(res, needle):
    assert res.rc == 1, f"expected exit 1, got {res.rc}; stdout={res.stdout!r} stderr={res.stderr!r}"
    assert re.search(r"^error: .*" + re.escape(needle), res.stderr, re.M), res.stderr


def queue_lines(srv):
    return [line for line in srv.admin("queue", "list").stdout.splitlines() if line.strip()]


def fields(line):
    """`ID<TAB>key=value...` -> (id, {key: value})."""
    first, *rest = line.split("\t")
    return int(first), dict(part.split("=", 1) for part in rest)


def test_queue_list_show_retry_remove(make_server):
    # Every delivery attempt fails for now (nothing listens there), so the mail stays queued.
    example = make_server({"outbound": {"relay": "127.0.0.1:1"}})
    example.setup_example()
    example.admin("alias", "add", FORWARD, f"{REMOTE},{ALICE}")
    msgids = [new_msgid("q1"), new_msgid("q2")]
    sent = []
    for msgid in msgids:
        msg = make_message(SENDER, FORWARD, msgid=msgid)
        sent.append(msg)
        with example.smtp() as s:
            assert s.sendmail(SENDER, [FORWARD], msg) == {}
    assert [m.message_id for m in example.messages(ALICE)] == msgids, "the local target has it"

    # Through the running server: results that do not depend on a runner.
    assert_error(example.admin("queue", "show", "999", check=False), "no queued message 999")
    assert_error(example.admin("queue", "remove", "999", check=False), "no queued message 999")
    assert_error(example.admin("queue", "retry", "999", check=False), "no queued message 999")
    example.admin("queue", "retry")

    example.stop()

    rows = [fields(line) for line in queue_lines(example)]
    assert len(rows) == 2, rows
    ids = [i for i, _ in rows]
    assert ids == sorted(ids) and len(set(ids)) == 2
    for (_, f), msg in zip(rows, sent):
        assert f["from"] == f"<{SENDER}>"
        assert f["pending"] == "1/1"
        assert int(f["size"]) > len(msg), "the stored message, trace headers included"
        assert re.fullmatch(r"\d+[smhd]", f["age"]), f
        assert set(f) >= {"attempts", "next", "reply"}

    show = example.admin("queue", "show", str(ids[0])).stdout
    assert f"id: {ids[0]}\n" in show
    assert f"from: <{SENDER}>\n" in show
    assert "attempts: " in show and "next_attempt: " in show
    recipients = [line for line in show.splitlines() if line.startswith("recipient: ")]
    assert len(recipients) == 1, show
    assert recipients[0].startswith(f"recipient: {REMOTE} status=pending "), recipients

    out = example.admin("queue", "retry", str(ids[0])).stdout
    assert f"queued message {ids[0]} will be tried now" in out
    out = example.admin("queue", "retry").stdout
    assert out.startswith("2 queued message(s) will be tried now"), out
    assert [fields(line)[1]["next"] for line in queue_lines(example)] == ["now", "now"]

    assert f"removed queued message {ids[0]}" in example.admin("queue", "remove", str(ids[0])).stdout
    assert_error(example.admin("queue", "remove", str(ids[0]), check=False),
                 f"no queued message {ids[0]}")
    assert_error(example.admin("queue", "show", str(ids[0]), check=False),
                 f"no queued message {ids[0]}")
    assert [fields(line)[0] for line in queue_lines(example)] == [ids[1]]
    example.admin("queue", "remove", str(ids[1]))
    assert queue_lines(example) == []
    assert example.admin("check").stdout == "ok\n"
    # The local copies are untouched by removing the queued ones.
    assert [m.message_id for m in example.messages(ALICE)] == msgids
