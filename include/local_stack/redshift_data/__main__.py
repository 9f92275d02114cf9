"""`python -m local_stack.redshift_data [--port N]`: the local Data API for this stack's running warehouse."""

from __future__ import annotations

import argparse
import logging

from local_stack.redshift_data.server import DataApiServer
from local_stack.settings import load_settings
from local_stack.warehouse_server import WarehouseServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local_stack.redshift_data", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="a free port when not given")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = DataApiServer(WarehouseServer(load_settings()).dsn(), host=args.host, port=args.port)
    logging.getLogger(__name__).info("The local Data API listens on %s", server.endpoint_url)
    server.serve_forever()


if __name__ == "__main__":
    main()
