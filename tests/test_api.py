"""The admin REST API (/api/v1) over real HTTPS: every endpoint, tokens from the CLI, errors.

Tokens come from `yubin admin token create` against the running server, as an operator makes
them, and must work on the next request; a revoked one must fail on the next request. Error
bodies are always {"error": {"code", "message"}}.
"""

import imaplib
import json
import smtplib
import time
import urllib.error
import urllib.request

import pytest

from yubintest import HOST, make_message


@pytest.fixture
def api(server):
    """(server, token)."""
    return server, server.api_token("tests")


def assert_error(r, status, code, needle=""):
    assert r.status == status, f"expected {status}, got {r.status}: {r.text}"
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    err = r.json["error"]
    assert err["code"] == code, r.text
    assert needle in err["message"], r.text


def test_domains_create_read_change_limits_delete(api):
    srv, token = api
    assert srv.api("GET", "/domains", token=token).json == []
    r = srv.api("POST", "/domains", {"name": "Shop.Test", "quota": 1000, "max_accounts": 5},
                token=token)
    assert r.status == 201, r.text
    assert r.headers["location"] == "/api/v1/domains/shop.test"
    d = r.json
    assert (d["name"], d["quota"], d["max_accounts"], d["accounts"], d["used"]) == \
        ("shop.test", 1000, 5, 0, 0)
    assert d["limits"]["connections"] is None
    # the CLI sees what the API made
    assert srv.admin("domain", "list").stdout.split() == ["shop.test"]

    assert_error(srv.api("POST", "/domains", {"name": "shop.test"}, token=token),
                 409, "already_exists", "shop.test")
    assert_error(srv.api("POST", "/domains", {"name": "not a domain"}, token=token),
                 400, "invalid")

    r = srv.api("PATCH", "/domains/shop.test", {"max_accounts": 7}, token=token)
    assert r.status == 200 and (r.json["quota"], r.json["max_accounts"]) == (1000, 7), r.text
    assert srv.api("GET", "/domains/shop.test", token=token).json["max_accounts"] == 7
    assert [x["name"] for x in srv.api("GET", "/domains", token=token).json] == ["shop.test"]

    limits = {"connections": 3, "messages_per_hour": 100, "max_message_size": 2_000_000}
    r = srv.api("PUT", "/domains/shop.test/limits", limits, token=token)
    assert r.status == 200, r.text
    assert r.json == {"connections": 3, "commands_per_minute": None, "messages_per_hour": 100,
                      "recipients_per_hour": None, "inbound_messages_per_hour": None,
                      "max_message_size": 2_000_000}
    assert srv.api("GET", "/domains/shop.test/limits", token=token).json == r.json
    assert_error(srv.api("PUT", "/domains/shop.test/limits", {"connection": 1}, token=token),
                 400, "invalid", "connection")

    # a domain with an account is only removed with force=true
    srv.admin("account", "add", "a@shop.test", "--password", "pw-1")
    assert_error(srv.api("DELETE", "/domains/shop.test", token=token), 409, "conflict")
    assert_error(srv.api("DELETE", "/domains/shop.test?force=maybe", token=token),
                 400, "invalid", "force")
    r = srv.api("DELETE", "/domains/shop.test?force=true", token=token)
    assert r.status == 204 and r.text == "", r.text
    assert_error(srv.api("GET", "/domains/shop.test", token=token),
                 404, "not_found", "no such domain: shop.test")
    assert srv.admin("account", "list").stdout.strip() == ""


def test_accounts_create_read_change_limits_delete(api):
    srv, token = api
    srv.api("POST", "/domains", {"name": "example.test", "max_accounts": 2}, token=token)
    r = srv.api("POST", "/accounts",
                {"address": "Carol@example.test", "password": "pw-carol", "quota": 5000},
                token=token)
    assert r.status == 201, r.text
    carol = r.json
    assert carol["address"] == "carol@example.test"
    assert (carol["enabled"], carol["quota"], carol["used"], carol["messages"]) == \
        (True, 5000, 0, 0)
    assert "password" not in r.text and "argon2" not in r.text, r.text
    assert r.headers["location"] == "/api/v1/accounts/carol@example.test"
    assert_error(srv.api("POST", "/accounts", {"address": "carol@example.test",
                                               "password": "x"}, token=token),
                 409, "already_exists")
    assert_error(srv.api("POST", "/accounts", {"address": "x@nowhere.test", "password": "x"},
                         token=token), 404, "not_found", "nowhere.test")
    assert_error(srv.api("POST", "/accounts", {"address": "x@example.test", "password": ""},
                         token=token), 400, "invalid", "password")
    assert srv.api("POST", "/accounts", {"address": "dave@example.test", "password": "pw"},
                   token=token).status == 201
    # the domain allows two accounts
    assert_error(srv.api("POST", "/accounts", {"address": "eve@example.test", "password": "pw"},
                         token=token), 409, "limit_reached")

    listed = srv.api("GET", "/accounts?domain=example.test", token=token).json
    assert [a["address"] for a in listed] == ["carol@example.test", "dave@example.test"]
    assert len(srv.api("GET", "/accounts", token=token).json) == 2
    assert_error(srv.api("GET", "/accounts?domain=other.test", token=token), 404, "not_found")

    # a message counts towards "used"; the path may carry the @ percent-encoded
    with srv.smtp() as s:
        s.sendmail("s@remote.test", ["carol@example.test"],
                   make_message("s@remote.test", "carol@example.test"))
    got = srv.api("GET", "/accounts/carol%40example.test", token=token).json
    assert got["messages"] == 1 and got["used"] > 0, got

    r = srv.api("PATCH", "/accounts/carol@example.test",
                {"password": "new-pw", "quota": 9000, "enabled": True}, token=token)
    assert r.status == 200 and r.json["quota"] == 9000, r.text
    srv.imap("carol@example.test", "new-pw").logout()
    with pytest.raises(imaplib.IMAP4.error):
        srv.imap("carol@example.test", "pw-carol")
    r = srv.api("PATCH", "/accounts/carol@example.test", {"enabled": False}, token=token)
    assert r.json["enabled"] is False
    with pytest.raises(imaplib.IMAP4.error):
        srv.imap("carol@example.test", "new-pw")
    assert_error(srv.api("PATCH", "/accounts/carol@example.test", {"password": ""},
                         token=token), 400, "invalid")
    assert_error(srv.api("PATCH", "/accounts/carol@example.test", {"quota": -1}, token=token),
                 400, "invalid")

    srv.api("PUT", "/domains/example.test/limits", {"connections": 10, "messages_per_hour": 50},
            token=token)
    r = srv.api("PUT", "/accounts/carol@example.test/limits", {"connections": 2}, token=token)
    assert r.status == 200 and r.json["connections"] == 2 and r.json["messages_per_hour"] is None
    assert srv.api("GET", "/accounts/carol@example.test/limits", token=token).json == r.json
    eff = srv.api("GET", "/accounts/carol@example.test", token=token).json["effective_limits"]
    assert (eff["connections"], eff["messages_per_hour"]) == (2, 50), eff

    r = srv.api("DELETE", "/accounts/carol@example.test", token=token)
    assert r.status == 204, r.text
    assert_error(srv.api("GET", "/accounts/carol@example.test", token=token), 404, "not_found")
    assert_error(srv.api("DELETE", "/accounts/carol@example.test", token=token), 404, "not_found")
    assert_error(srv.api("GET", "/accounts/not-an-address", token=token), 400, "invalid")


def test_aliases_create_read_delete(api):
    srv, token = api
    srv.api("POST", "/domains", {"name": "example.test"}, token=token)
    srv.api("POST", "/accounts", {"address": "alice@example.test", "password": "pw"},
            token=token)
    r = srv.api("POST", "/aliases", {"address": "info@example.test",
                                     "targets": ["alice@example.test", "x@remote.test"]},
                token=token)
    assert r.status == 201, r.text
    assert r.json == {"address": "info@example.test",
                      "targets": ["alice@example.test", "x@remote.test"]}
    assert srv.api("POST", "/aliases", {"address": "@example.test",
                                        "targets": ["alice@example.test"]},
                   token=token).status == 201
    assert_error(srv.api("POST", "/aliases", {"address": "info@example.test",
                                              "targets": ["alice@example.test"]}, token=token),
                 409, "already_exists")
    assert_error(srv.api("POST", "/aliases", {"address": "alice@example.test",
                                              "targets": ["x@remote.test"]}, token=token),
                 409, "already_exists", "account")
    assert_error(srv.api("POST", "/aliases", {"address": "a@example.test", "targets": []},
                         token=token), 400, "invalid")
    listed = srv.api("GET", "/aliases?domain=example.test", token=token).json
    assert [a["address"] for a in listed] == ["@example.test", "info@example.test"], listed
    assert srv.api("GET", "/aliases/info@example.test", token=token).json["targets"][1] == \
        "x@remote.test"
    assert "info@example.test" in srv.admin("alias", "list").stdout
    assert srv.api("DELETE", "/aliases/info@example.test", token=token).status == 204
    assert srv.api("DELETE", "/aliases/@example.test", token=token).status == 204
    assert_error(srv.api("DELETE", "/aliases/info@example.test", token=token), 404, "not_found")
    assert srv.api("GET", "/aliases", token=token).json == []


def test_tenant_provisioning_logs_in_within_a_second(api):
    srv, token = api
    body = {"domain": "newco.test", "quota": 10_000_000, "max_accounts": 10,
            "limits": {"connections": 20},
            "account": {"address": "admin", "password": "first-pw", "quota": 1_000_000}}
    started = time.monotonic()
    r = srv.api("POST", "/tenants", body, token=token)
    assert r.status == 201, r.text
    imap = srv.imap("admin@newco.test", "first-pw")
    elapsed = time.monotonic() - started
    imap.logout()
    assert elapsed < 1.0, f"provision + IMAP login took {elapsed:.2f} s"
    assert r.json["domain"]["name"] == "newco.test"
    assert r.json["domain"]["accounts"] == 1
    assert r.json["domain"]["limits"]["connections"] == 20
    assert r.json["account"]["address"] == "admin@newco.test"
    assert r.json["account"]["quota"] == 1_000_000
    assert_error(srv.api("POST", "/tenants", body, token=token), 409, "already_exists")

    # an account that cannot be made leaves no half tenant behind
    bad = {"domain": "half.test", "account": {"address": "bad address", "password": "pw"}}
    assert_error(srv.api("POST", "/tenants", bad, token=token), 400, "invalid")
    bad = {"domain": "half.test", "account": {"address": "x@other.test", "password": "pw"}}
    assert_error(srv.api("POST", "/tenants", bad, token=token), 400, "invalid", "half.test")
    assert_error(srv.api("GET", "/domains/half.test", token=token), 404, "not_found")
    assert srv.admin("domain", "list").stdout.split() == ["newco.test"]


def test_queue_list_show_retry_delete(make_server):
    # Nothing listens at the relay: every attempt fails and the message stays queued.
    srv = make_server({"outbound": {"relay": "127.0.0.1:1"}})
    token = srv.api_token()
    srv.api("POST", "/domains", {"name": "example.test"}, token=token)
    srv.api("POST", "/aliases", {"address": "fwd@example.test", "targets": ["r@remote.test"]},
            token=token)
    with srv.smtp() as s:
        s.sendmail("s@remote.test", ["fwd@example.test"],
                   make_message("s@remote.test", "fwd@example.test"))
    deadline = time.monotonic() + 10
    while not (queued := srv.api("GET", "/queue", token=token).json):
        assert time.monotonic() < deadline, "nothing queued"
        time.sleep(0.1)
    m = queued[0]
    assert [r["address"] for r in m["recipients"]] == ["r@remote.test"], m
    assert m["recipients"][0]["status"] == "pending"
    got = srv.api("GET", f"/queue/{m['id']}", token=token)
    assert got.status == 200 and got.json["id"] == m["id"], got.text
    r = srv.api("POST", f"/queue/{m['id']}/retry", token=token)
    assert r.status in (200, 404), r.text  # 404 only if the runner gave up on it meanwhile
    r = srv.api("POST", "/queue/retry", token=token)
    assert r.status == 200 and set(r.json) == {"moved", "queued"}, r.text
    assert srv.api("DELETE", f"/queue/{m['id']}", token=token).status == 204
    assert_error(srv.api("GET", f"/queue/{m['id']}", token=token), 404, "not_found")
    assert_error(srv.api("DELETE", f"/queue/{m['id']}", token=token), 404, "not_found")
    assert_error(srv.api("POST", "/queue/999999/retry", token=token), 404, "not_found")
    assert_error(srv.api("GET", "/queue/not-a-number", token=token), 400, "invalid")
    assert srv.api("GET", "/queue", token=token).json == []


def test_tokens_from_the_cli_work_at_once_and_revoked_ones_fail(server):
    assert_error(server.api("GET", "/domains"), 401, "unauthorized", "missing")
    r = server.api("GET", "/domains")
    assert r.headers["www-authenticate"].startswith("Bearer"), r.headers
    token = server.api_token("ops")
    assert token.startswith("yubin_") and len(token) > 40, token
    assert server.api("GET", "/domains", token=token).status == 200
    assert_error(server.api("GET", "/domains", token=token + "x"), 401, "unauthorized",
                 "unknown")
    assert_error(server.api("GET", "/domains", headers={"Authorization": f"Basic {token}"}),
                 401, "unauthorized", "Bearer")
    assert_error(server.api("GET", "/domains", headers={"Authorization": "Bearer"}),
                 401, "unauthorized")
    # POST without a token changes nothing
    assert server.api("POST", "/domains", {"name": "x.test"}).status == 401
    assert server.admin("domain", "list").stdout.strip() == ""

    listed = server.admin("token", "list").stdout
    assert listed.startswith("ops\tcreated=") and listed.rstrip().endswith(token[-4:]), listed
    assert token not in listed
    assert server.admin("token", "create", "ops", check=False).rc != 0, "duplicate name"
    server.admin("token", "revoke", "ops")
    assert_error(server.api("GET", "/domains", token=token), 401, "unauthorized", "revoked")
    assert server.admin("token", "list").stdout.strip() == ""


def test_malformed_requests_get_json_errors(api):
    srv, token = api
    assert_error(srv.api("POST", "/domains", raw=b'{"name": "x.test"', token=token),
                 400, "malformed_json")
    assert_error(srv.api("POST", "/domains", raw=b"[1, 2]", token=token), 400, "invalid")
    assert_error(srv.api("POST", "/domains", {"name": "x.test", "colour": "red"}, token=token),
                 400, "invalid", "colour")
    assert_error(srv.api("POST", "/domains", {"name": 5}, token=token), 400, "invalid")
    assert_error(srv.api("POST", "/domains", raw=b'{"name": "x.test"}', token=token,
                         headers={"Content-Type": "text/plain"}),
                 415, "unsupported_media_type")
    big = json.dumps({"name": "x.test", "pad": "a" * 100_000}).encode()
    assert_error(srv.api("POST", "/domains", raw=big, token=token), 413, "too_large")
    assert_error(srv.api("GET", "/nothing-here", token=token), 404, "not_found")
    r = srv.api("PUT", "/domains", {}, token=token)
    assert_error(r, 405, "method_not_allowed")
    assert "POST" in r.headers.get("allow", ""), r.headers
    assert srv.admin("domain", "list").stdout.strip() == ""


def test_openapi_is_served_without_a_token(server):
    r = server.api("GET", "/openapi.json")
    assert r.status == 200, r.text
    doc = r.json
    assert doc["openapi"].startswith("3.")
    assert "/tenants" in doc["paths"] and "bearer" in doc["components"]["securitySchemes"]


def test_plain_http_listener_does_not_serve_the_api(server):
    token = server.api_token()
    req = urllib.request.Request(f"http://{HOST}:{server.http_port}/api/v1/domains",
                                 headers={"Authorization": f"Bearer {token}"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 403
    assert json.loads(e.value.read())["error"]["code"] == "https_required"
    # the probes are on both listeners
    assert server.http("/health") == (200, "ok\n")
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(f"https://{HOST}:{server.api_port}/health", context=ctx,
                                timeout=10) as r:
        assert r.read() == b"ok\n"
    # and the API is not reachable without TLS on the HTTPS port
    with pytest.raises(Exception):
        urllib.request.urlopen(f"http://{HOST}:{server.api_port}/api/v1/openapi.json",
                               timeout=5).read()


def test_a_provisioned_tenant_receives_mail_at_once(api):
    """A tenant made by the API is a local domain at once: mail to its account is accepted."""
    srv, token = api
    srv.api("POST", "/tenants", {"domain": "fresh.test",
                                 "account": {"address": "u@fresh.test", "password": "pw"}},
            token=token)
    with srv.smtp() as s:
        refused = s.sendmail("s@remote.test", ["u@fresh.test"],
                             make_message("s@remote.test", "u@fresh.test"))
    assert refused == {}
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        with srv.smtp() as s:
            s.sendmail("s@remote.test", ["nobody@fresh.test"],
                       make_message("s@remote.test", "nobody@fresh.test"))


def test_an_alias_to_itself_is_a_conflict(api):
    """Regression (schemathesis): a well-formed alias pointing to itself was a 400."""
    srv, token = api
    srv.api("POST", "/domains", {"name": "example.test"}, token=token)
    assert_error(srv.api("POST", "/aliases", {"address": "a@example.test",
                                              "targets": ["A@example.test"]}, token=token),
                 409, "conflict", "itself")


def test_arrays_are_not_objects(api):
    """Regression (schemathesis): serde read a JSON array as a struct, field by field."""
    srv, token = api
    srv.api("POST", "/domains", {"name": "example.test"}, token=token)
    assert_error(srv.api("PUT", "/domains/example.test/limits", [None, None], token=token),
                 400, "invalid", "object")
    assert_error(srv.api("POST", "/domains", {"name": "b.test", "limits": []}, token=token),
                 400, "invalid")
    assert_error(srv.api("GET", "/domains/b.test", token=token), 404, "not_found")
    # null in a PATCH means "leave it"
    r = srv.api("PATCH", "/domains/example.test", {"quota": 5, "max_accounts": None},
                token=token)
    assert r.status == 200 and r.json["quota"] == 5, r.text
