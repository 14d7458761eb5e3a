"""Spotify Tracker's JSON API on AWS Chalice: the app, its authentication and its blueprints.

The shared core (``settings.py``, ``models/``) reaches Lambda through symbolic links in
``chalicelib/``, which ``chalice package`` follows; putting ``chalicelib`` on the import path
lets every module say ``import models`` here, in Lambda and in the rest of the project alike.
"""
import os
import sys

sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "chalicelib"))

from chalice import Chalice  # noqa: E402

from chalicelib.api_admin import admin_api  # noqa: E402
from chalicelib.api_meta import meta_api  # noqa: E402
from chalicelib.api_stats import stats_api  # noqa: E402
from chalicelib.auth import auth_routes, authenticate  # noqa: E402
from chalicelib.errors import handle_errors, not_found_routes  # noqa: E402

app = Chalice(app_name="spotify-tracker-api")
# Outermost first: errors from authentication become JSON too.
app.register_middleware(handle_errors, "http")
app.register_middleware(authenticate, "http")
for blueprint in (meta_api, auth_routes, stats_api, admin_api, not_found_routes):
    app.register_blueprint(blueprint)
