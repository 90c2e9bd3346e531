"""`yujing simulate`: serve the local Weibo/WeChat simulator until Ctrl-C.

    yujing simulate --port 8765 --speed 30 --seed 0

Prints the base URL, then the two API base URLs with the token, ready for Airflow
Connections (`AIRFLOW_CONN_WEIBO_DEFAULT=http://:sim-token@127.0.0.1:8765/2`).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading


def simulate_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="yujing simulate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--speed", type=float, default=30.0, help="story seconds per wall second")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--token", default="sim-token")
    parser.add_argument(
        "--rate", type=float, default=6.0, help="Weibo posts per brand per story hour"
    )
    parser.add_argument("--hours", type=float, default=72.0, help="story hours to generate")
    parser.add_argument("--no-incidents", action="store_true", help="background traffic only")
    parser.add_argument("--faults", help="initial faults as JSON, e.g. '{\"server_error\": 3}'")
    parser.add_argument("--config", help="config file (default: the active one)")
    args = parser.parse_args(argv)

    from simulator.server import Simulator
    from yujing.config import load_config

    kwargs = {"incidents": ()} if args.no_incidents else {}
    sim = Simulator(
        load_config(args.config),
        seed=args.seed,
        speed=args.speed,
        host=args.host,
        port=args.port,
        token=args.token,
        faults=json.loads(args.faults) if args.faults else None,
        rate=args.rate,
        span_hours=args.hours,
        **kwargs,
    ).start()
    weibo = sim.posts and sum(1 for p in sim.posts if p.platform == "weibo")
    print(f"simulator: {sim.base_url}", flush=True)
    print(
        f"  Weibo  {sim.weibo_url}   WeChat {sim.wechat_url}   token {args.token!r}\n"
        f"  speed x{args.speed:g} (1 story hour = {60 / args.speed:.1f} wall minutes), "
        f"{weibo} Weibo posts over {args.hours:g} story hours, seed {args.seed}\n"
        f"  truth  {sim.base_url}/_sim/truth   faults {sim.base_url}/_sim/faults   (Ctrl-C stops)",
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
        print("simulator: stopped", flush=True)
    return 0
