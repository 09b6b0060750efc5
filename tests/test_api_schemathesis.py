"""schemathesis (property-based API testing, PyPI) against the served OpenAPI description.

It generates valid and invalid requests for every operation from /api/v1/openapi.json and
checks every response against the description: documented status, content type, headers and
schema, no 5xx, invalid data rejected, valid data accepted, unsupported methods refused,
requests without the token refused. scripts/test-all installs a pinned schemathesis into a
venv and passes its path in $YUBIN_SCHEMATHESIS; without it the test is skipped.
"""

import os
import shutil
import subprocess

import pytest

from yubintest import HOST

SCHEMATHESIS_VERSION = "4.32.5"  # the version scripts/test-all installs


def schemathesis_bin():
    path = os.environ.get("YUBIN_SCHEMATHESIS") or shutil.which("schemathesis")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("schemathesis is not installed (scripts/test-all installs "
                    f"schemathesis=={SCHEMATHESIS_VERSION} and sets YUBIN_SCHEMATHESIS)")
    return path


def test_the_api_matches_its_openapi_description(server, tmp_path):
    st = schemathesis_bin()
    token = server.api_token("schemathesis")
    # Some data to find, so generated requests reach more than 404s.
    server.admin("domain", "add", "example.com")
    server.admin("account", "add", "user@example.com", "--password", "pw")
    server.admin("alias", "add", "info@example.com", "user@example.com")
    base = f"https://{HOST}:{server.api_port}/api/v1"
    cmd = [
        st, "run", f"{base}/openapi.json",
        "--url", base,
        "--header", f"Authorization: Bearer {token}",
        "--tls-verify", "false",
        "--checks", "all",
        "--max-examples", "25",
        "--seed", "6",
        "--workers", "1",  # CPython 3.11 ast.parse in threads can fail (gh-106905)
        "--request-timeout", "20",
        "--generation-database", "none",
        "--no-color",
        "--report", "junit",
        "--report-dir", str(tmp_path),
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert p.returncode == 0, (
        f"schemathesis found problems (exit {p.returncode}):\n{p.stdout[-20000:]}\n{p.stderr[-5000:]}"
        f"\n--- server stderr ---\n{server.stderr_tail(40)}"
    )
