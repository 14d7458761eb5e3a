"""``python -m spotify.sandbox --port 8900 [--seed N] [--app-mode development|extended] ...``"""

from __future__ import annotations

import argparse
from datetime import datetime

from werkzeug.serving import run_simple

from spotify.sandbox.server import create_app
from spotify.sandbox.state import (
    DEFAULT_APP_NAME,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URIS,
    make_state,
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m spotify.sandbox", description="Run the sandbox Spotify server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--seed", type=int, default=42, help="world seed (catalogue, plays)")
    parser.add_argument("--listeners", type=int, default=8, help="number of sandbox listeners")
    parser.add_argument("--app-mode", choices=("extended", "development"), default="extended")
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument(
        "--app-name", default=DEFAULT_APP_NAME, help="the app's name on the authorize page"
    )
    parser.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        help="register a redirect URI (repeatable; adds to the defaults "
        f"{', '.join(DEFAULT_REDIRECT_URIS)})",
    )
    parser.add_argument(
        "--clock", default=None, help="start the sandbox clock at this ISO time (default: now)"
    )
    parser.add_argument(
        "--frozen", action="store_true", help="keep the clock still until /_sandbox/clock moves it"
    )
    args = parser.parse_args(argv)
    start = datetime.fromisoformat(args.clock.replace("Z", "+00:00")) if args.clock else None
    state = make_state(
        args.seed,
        args.listeners,
        args.app_mode,
        start=start,
        frozen=args.frozen,
        client_id=args.client_id,
        client_secret=args.client_secret,
        app_name=args.app_name,
        redirect_uris=DEFAULT_REDIRECT_URIS + tuple(args.redirect_uri),
    )
    print(
        f"Sandbox Spotify on http://{args.host}:{args.port} ({args.app_mode} mode, "
        f"{args.listeners} listeners, seed {args.seed})\n"
        f"  OAUTH_AUTHORIZE_URL=http://{args.host}:{args.port}/authorize\n"
        f"  OAUTH_TOKEN_URL=http://{args.host}:{args.port}/api/token\n"
        f"  SPOTIFY_API_URL=http://{args.host}:{args.port}/v1\n"
        f"  CLIENT_ID={args.client_id}",
        flush=True,
    )
    run_simple(args.host, args.port, create_app(state), threaded=True)


if __name__ == "__main__":
    main()
