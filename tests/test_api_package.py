"""The deployable artifact: `chalice package` builds offline, and what it builds runs alone.

The Lambda zip is unpacked and imported by an interpreter that sees nothing but the zip's
contents (``-I -S``: no site-packages, no repository), then handed an API Gateway event: if
a link in vendor/ were not followed, or a runtime requirement missing from
chalice_app/requirements.txt, this is where it shows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.api_support import CHALICE_DIR, ROOT, load_app
from tests.environment import base_environ

WHEELHOUSE = ROOT / "build" / "wheelhouse"

LAMBDA_SMOKE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import app
results = {}
for path in ("/health", "/openapi.json", "/me", "/nowhere"):
    event = {"requestContext": {"httpMethod": "GET", "resourcePath": path if path != "/nowhere"
             else "/{p1}", "path": "/api" + path}, "headers": {},
             "multiValueQueryStringParameters": None, "pathParameters":
             {"p1": "nowhere"} if path == "/nowhere" else {}, "stageVariables": {},
             "body": None}
    response = app.app(event, None)
    results[path] = [response["statusCode"], json.loads(response["body"])]
print(json.dumps({"results": results, "models": sys.modules["models"].__file__}))
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    out = tmp_path_factory.mktemp("chalice-package")
    env = {**os.environ, "PYTHON": sys.executable, "WHEELHOUSE": str(WHEELHOUSE)}
    env.pop("AWS_DEFAULT_REGION", None)
    built = subprocess.run(
        [str(CHALICE_DIR / "build-package"), str(out), "prod"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    return out


def test_package_holds_the_app_the_core_and_the_runtime_requirements(package):
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        names = set(archive.namelist())
        links = [
            info.filename
            for info in archive.infolist()
            if (info.external_attr >> 16) & 0o170000 == 0o120000
        ]
    for expected in (
        "app.py",
        "chalicelib/api_stats.py",
        "settings.py",
        "models/__init__.py",
        "models/stats/__init__.py",
        "models/accounts/api_tokens.py",
        "peewee.py",
        "jwt/__init__.py",
        "psycopg2/__init__.py",
        "cryptography/fernet.py",
        "werkzeug/security.py",
        "tzdata/zoneinfo/Europe/Paris",
        "dotenv/__init__.py",
    ):
        assert expected in names, expected
    assert links == []  # links were followed: real files in the zip
    assert not any(
        name.startswith(("tests/", "web/", "batch/", "flask/", "luigi/")) for name in names
    )


def test_packaged_lambda_answers_on_its_own(package, tmp_path):
    unpacked = tmp_path / "task"
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        archive.extractall(unpacked)
    env = base_environ(
        DATABASE_URL=f"sqlite:///{tmp_path / 'lambda.db'}",
        AWS_LAMBDA_FUNCTION_NAME="spotify-tracker-api-prod",
    )
    env["PATH"] = os.environ["PATH"]
    ran = subprocess.run(
        [sys.executable, "-I", "-S", "-c", LAMBDA_SMOKE, str(unpacked)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout.strip().splitlines()[-1])
    assert report["models"] == str(unpacked / "models" / "__init__.py")
    results = report["results"]
    assert results["/health"] == [200, {"status": "ok", "database": "ok"}]
    assert results["/openapi.json"][0] == 200
    assert results["/openapi.json"][1]["servers"] == [{"url": "/api"}]
    assert results["/me"][0] == 401 and results["/me"][1]["Code"] == "UnauthorizedError"
    assert results["/nowhere"][0] == 404


def test_sam_template_puts_the_lambda_in_the_vpc(package):
    template = json.loads((package / "sam.json").read_text())
    function = template["Resources"]["APIHandler"]["Properties"]
    assert function["VpcConfig"]["SubnetIds"] == [
        "subnet-REPLACE-private-a",
        "subnet-REPLACE-private-b",
    ]
    assert function["VpcConfig"]["SecurityGroupIds"] == ["sg-REPLACE-lambda"]
    assert function["Runtime"] == "python3.11"
    variables = function["Environment"]["Variables"]
    assert variables["APP_DB_CONNECTOR"] == "postgresql"
    assert "SECRET_KEY" not in variables  # secrets are written in at deploy time only


def test_stage_config_fills_vpc_ids_and_secrets(tmp_path):
    sys.path.insert(0, str(CHALICE_DIR))
    try:
        from stage_config import configure
    finally:
        sys.path.remove(str(CHALICE_DIR))
    config_path = tmp_path / "config.json"
    shutil.copy(CHALICE_DIR / ".chalice" / "config.json", config_path)
    with pytest.raises(SystemExit, match="LAMBDA_SUBNET_IDS"):
        configure("prod", {}, config_path)
    environ = {
        "LAMBDA_SUBNET_IDS": "subnet-1, subnet-2",
        "LAMBDA_SECURITY_GROUP_IDS": "sg-9",
        "SECRET_KEY": "s" * 32,
        "APP_DB_HOST": "db.internal",
        "UNRELATED": "x",
    }
    configure("prod", environ, config_path)
    prod = json.loads(config_path.read_text())["stages"]["prod"]
    assert prod["subnet_ids"] == ["subnet-1", "subnet-2"]
    assert prod["security_group_ids"] == ["sg-9"]
    assert prod["environment_variables"]["SECRET_KEY"] == "s" * 32
    assert prod["environment_variables"]["APP_DB_HOST"] == "db.internal"
    assert "UNRELATED" not in prod["environment_variables"]


def test_openapi_document_lists_exactly_the_apps_routes():
    app = load_app()
    from chalicelib.errors import NOT_FOUND_ROUTES
    from chalicelib.openapi import document

    served = {
        (path, method.lower())
        for path, methods in app.routes.items()
        if path not in NOT_FOUND_ROUTES
        for method in methods
    }
    described = {
        (path, method) for path, operations in document()["paths"].items() for method in operations
    }
    assert served == described


def test_openapi_document_is_valid_openapi_3_1():
    load_app()
    from openapi_spec_validator import validate

    from chalicelib.openapi import document

    described = document("/api")
    validate(described)
    assert described["openapi"] == "3.1.0"
    assert described["servers"] == [{"url": "/api"}]


def test_chalice_local_keeps_the_environments_settings():
    """chalice local writes the config's variables over the environment: the dev stage must
    set none, or a local run would ignore the DATA_DIR/DATABASE_URL the README tells to set."""
    config = json.loads((CHALICE_DIR / ".chalice" / "config.json").read_text())
    assert "environment_variables" not in config
    assert config["stages"]["dev"].get("environment_variables", {}) == {}
