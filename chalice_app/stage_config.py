"""Fill a Chalice stage's deployment settings from the environment (used by the deploy workflow).

``.chalice/config.json`` in the repository holds placeholders for what differs per AWS account
(VPC subnets and security group) and no secrets at all; at deploy time this writes them, from
repository secrets, into the runner's copy only:

    python chalice_app/stage_config.py prod

reads ``LAMBDA_SUBNET_IDS`` and ``LAMBDA_SECURITY_GROUP_IDS`` (comma-separated) and every
variable of ``settings.VARIABLES`` that is set and not empty (SECRET_KEY, CLIENT_ID,
APP_DB_PASSWORD...).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# the core as the Lambda package has it (vendor/ links to the repository's packages)
sys.path.append(str(Path(__file__).resolve().parent / "vendor"))

import settings

CONFIG_PATH = Path(__file__).resolve().parent / ".chalice" / "config.json"


def configure(stage: str, environ=os.environ, config_path: Path = CONFIG_PATH) -> dict:
    config = json.loads(config_path.read_text())
    if stage not in config.get("stages", {}):
        raise SystemExit(f"no stage {stage!r} in {config_path}")
    target = config["stages"][stage]
    for key, variable in (
        ("subnet_ids", "LAMBDA_SUBNET_IDS"),
        ("security_group_ids", "LAMBDA_SECURITY_GROUP_IDS"),
    ):
        ids = [part.strip() for part in environ.get(variable, "").split(",") if part.strip()]
        if ids:
            target[key] = ids
        elif any("REPLACE" in value for value in target.get(key, [])):
            raise SystemExit(f"{variable} is not set and {stage}.{key} is a placeholder")
    env = target.setdefault("environment_variables", {})
    for variable in settings.VARIABLES:
        if environ.get(variable.name):
            env[variable.name] = environ[variable.name]
    unset = sorted(name for name, value in env.items() if "REPLACE" in value)
    if unset:
        raise SystemExit(f"placeholders left in {stage}: {', '.join(unset)}")
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    return config


if __name__ == "__main__":
    configure(sys.argv[1] if len(sys.argv) > 1 else "prod")
    print(f"{CONFIG_PATH}: stage configured (values not shown)")
