"""``python -m llmlab_pipelines.testing.simulator``: serve the simulator until Ctrl-C."""

from __future__ import annotations

import argparse
import time

from ._responders import arithmetic_responder, echo_responder
from ._simulator import Simulator, SimulatorConfig


def main(argv: list[str] | None = None) -> None:
    """Parse options and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--jitter", type=float, default=0.0)
    parser.add_argument("--rate-429", type=float, default=0.0)
    parser.add_argument("--rpm", type=int)
    parser.add_argument("--rate-5xx", type=float, default=0.0)
    parser.add_argument("--rate-malformed", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--responder", choices=["echo", "arithmetic"], default="arithmetic")
    args = parser.parse_args(argv)
    config = SimulatorConfig(
        latency_s=args.latency,
        latency_jitter_s=args.jitter,
        rate_429=args.rate_429,
        rpm=args.rpm,
        rate_5xx=args.rate_5xx,
        rate_malformed=args.rate_malformed,
        seed=args.seed,
        responder=arithmetic_responder if args.responder == "arithmetic" else echo_responder,
    )
    with Simulator(config, port=args.port) as sim:
        print(f"simulator on {sim.base_url} (Ctrl-C stops it)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
