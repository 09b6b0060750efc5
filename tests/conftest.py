"""Fixtures: a real `yubin serve` process per test, on ephemeral ports.

    server      a started server with a fresh data dir, no domains
    example     the same, with domain example.test and alice@/bob@ (password "secret-pw")
    make_server factory: make_server(config={"smtp": {"max_recipients": 3}}, start=True)

Every server is stopped with SIGTERM at teardown and must exit 0 within 15 s.
The binary comes from $YUBIN_BIN (scripts/test-all sets it to the release build).
"""

import os

import pytest

from yubintest import Server, find_binary


def pytest_report_header(config):
    try:
        return f"yubin binary: {find_binary()}"
    except RuntimeError as e:
        return f"yubin binary: {e}"


@pytest.fixture(scope="session")
def yubin_bin():
    try:
        path = find_binary()
    except RuntimeError as e:
        pytest.exit(str(e), returncode=2)
    if not os.access(path, os.X_OK):
        pytest.exit(f"YUBIN_BIN={path} is not an executable file", returncode=2)
    return path


@pytest.fixture
def make_server(yubin_bin):
    servers = []

    def make(config=None, start=True):
        srv = Server(config)
        servers.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    errors = []
    for srv in servers:
        try:
            if srv.running:
                srv.stop()
        except AssertionError as e:
            errors.append(str(e))
        finally:
            srv.cleanup()
    if errors:
        pytest.fail("server shutdown at teardown failed:\n" + "\n".join(errors))


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture
def example(server):
    server.setup_example()
    return server
