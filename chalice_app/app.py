"""Spotify Tracker's JSON API on AWS Chalice: the app, its authentication and its blueprints.

The shared core (``settings.py``, ``models/``) is linked into ``vendor/``: Chalice copies
vendor/'s contents, links followed, to the root of the Lambda package and puts vendor/ on the
import path for ``chalice local``, so ``import models`` reads the same here, in Lambda and in
the rest of the project, from one source.  (chalice 1.34 does not follow a directory link
inside ``chalicelib/``: the package would lack models/.)
"""

from chalice import Chalice

from chalicelib.api_admin import admin_api
from chalicelib.api_charts import charts_api
from chalicelib.api_exclusions import exclusions_api
from chalicelib.api_export_stats import export_stats_api
from chalicelib.api_genres import genres_api
from chalicelib.api_meta import meta_api
from chalicelib.api_sharing import sharing_api
from chalicelib.api_stats import stats_api
from chalicelib.api_story import story_api
from chalicelib.auth import auth_routes, authenticate
from chalicelib.errors import handle_errors, not_found_routes

app = Chalice(app_name="spotify-tracker-api")
# Outermost first: errors raised while authenticating become JSON too.
app.register_middleware(handle_errors, "http")
app.register_middleware(authenticate, "http")
for blueprint in (
    meta_api,
    auth_routes,
    stats_api,
    genres_api,
    story_api,
    charts_api,
    exclusions_api,
    export_stats_api,
    admin_api,
    sharing_api,
    not_found_routes,
):
    app.register_blueprint(blueprint)
