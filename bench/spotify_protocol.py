"""Figures for the Spotify layer: sandbox world generation and client calls per workload.

    python -m bench.spotify_protocol [--listeners 150] [--tracks 1000] [--min-interval 0.01]

Prints how long the sandbox takes to build its world and generate listening history, and how
many Web API calls (and how much time) the client needs to sync recent plays for every
listener and to read a catalogue of N tracks, artists and albums, in extended and in
development mode. Nothing is asserted: these are numbers to compare between changes.
"""

from __future__ import annotations

import argparse
import contextlib
import time

from spotify.client import SpotifyApp, TokenSet
from spotify.errors import AudioFeaturesUnavailable
from spotify.sandbox.catalogue import World, to_ms
from spotify.sandbox.testing import TEST_CLOCK_START, SandboxServer


def timed(action):
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def world_figures(listeners: int) -> None:
    world, seconds = timed(lambda: World(42, listeners))
    print(
        f"world: {len(world.tracks)} tracks, {len(world.artists)} artists, "
        f"{len(world.albums)} albums, {listeners} listeners built in {seconds * 1000:.0f} ms"
    )
    end = to_ms(TEST_CLOCK_START)
    start = end - 30 * 86_400_000
    plays, seconds = timed(
        lambda: sum(len(world.plays(who, start, end)) for who in world.listeners)
    )
    print(
        f"history: {plays} plays over 30 days x {listeners} listeners generated in "
        f"{seconds * 1000:.0f} ms ({listeners * 30 / seconds:.0f} listener-days/s)"
    )


def client_figures(listeners: int, tracks: int, min_interval: float) -> None:
    for mode in ("extended", "development"):
        mode_figures(mode, listeners, tracks, min_interval)


def mode_figures(mode: str, listeners: int, tracks: int, min_interval: float) -> None:
    with SandboxServer(listeners=listeners, app_mode=mode) as sandbox:
        app = SpotifyApp(
            sandbox.client_id,
            sandbox.client_secret,
            token_url=sandbox.token_url,
            api_url=sandbox.api_url,
            min_interval=min_interval,
        )
        clients = [
            app.client(TokenSet.from_response(sandbox.grant(listener["id"])))
            for listener in sandbox.listeners()[: listeners if mode == "extended" else 5]
        ]
        cursors, seconds = timed(lambda: [c.recently_played().cursor for c in clients])
        print(
            f"{mode}: first sync of {len(clients)} listeners: "
            f"{sum(c.calls['recently_played'] for c in clients)} calls, {seconds:.2f} s"
        )
        sandbox.advance(hours=6)
        _, seconds = timed(
            lambda: [
                c.recently_played(after=cursor) for c, cursor in zip(clients, cursors, strict=True)
            ]
        )
        print(f"{mode}: incremental sync after 6 h: {seconds:.2f} s")
        world = sandbox.state.world
        reader = clients[0]
        before = sum(app.usage.calls.values())
        ids = [t.id for t in world.tracks[:tracks]]
        _, seconds = timed(
            lambda: (
                reader.tracks(ids),
                reader.artists([a.id for a in world.artists[:tracks]]),
                reader.albums([a.id for a in world.albums[:tracks]]),
            )
        )
        with contextlib.suppress(AudioFeaturesUnavailable):
            reader.audio_features(ids)
        used = sum(app.usage.calls.values()) - before
        print(
            f"{mode}: {tracks} tracks + artists + albums + features: {used} calls "
            f"({dict(sorted(reader.calls.items()))}), {seconds:.2f} s, "
            f"app mode detected: {reader.app_mode}, 429s: {app.usage.rate_limited}"
        )
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listeners", type=int, default=150)
    parser.add_argument("--tracks", type=int, default=1000)
    parser.add_argument("--min-interval", type=float, default=0.0)
    args = parser.parse_args()
    world_figures(args.listeners)
    client_figures(args.listeners, args.tracks, args.min_interval)


if __name__ == "__main__":
    main()
