"""``python -m musicbrainz.sandbox --port 8901 [--seed N] [--artists N] [--rate-window S]``"""

from __future__ import annotations

import argparse

from werkzeug.serving import run_simple

from musicbrainz.sandbox.server import create_app
from musicbrainz.sandbox.state import make_state


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m musicbrainz.sandbox", description="Run the sandbox MusicBrainz server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8901)
    parser.add_argument("--seed", type=int, default=42, help="the sandbox Spotify's world seed")
    parser.add_argument("--artists", type=int, default=300, help="the world's size in artists")
    parser.add_argument(
        "--rate-window", type=float, default=1.0, help="one request per this many seconds"
    )
    args = parser.parse_args(argv)
    state = make_state(args.seed, args.artists).warm()
    state.knobs.rate_window = args.rate_window
    print(
        f"Sandbox MusicBrainz on http://{args.host}:{args.port} (seed {args.seed}, "
        f"{len(state.world.recordings)} recordings, one request per {args.rate_window:g} s)\n"
        f"  MUSICBRAINZ_BASE_URL=http://{args.host}:{args.port}/ws/2/",
        flush=True,
    )
    run_simple(args.host, args.port, create_app(state), threaded=True)


if __name__ == "__main__":
    main()
