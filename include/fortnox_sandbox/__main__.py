"""Command line: ``python -m include.fortnox_sandbox --port 8080 --companies 3 --seed 7``."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import tempfile
from datetime import date
from pathlib import Path
from types import FrameType

from include.fortnox_sandbox.faults import FaultConfigError, Faults
from include.fortnox_sandbox.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_REDIRECT_URI,
    SandboxConfig,
    SandboxServer,
)
from include.fortnox_sandbox.state import StateFileError

SECRET_ENV = "FORTNOX_SANDBOX_CLIENT_SECRET"
CLIENT_ID_ENV = "FORTNOX_SANDBOX_CLIENT_ID"
DEFAULT_SECRET_FILE = Path(tempfile.gettempdir()) / "fortnox-sandbox" / "client-secret"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m include.fortnox_sandbox",
        description="A local Fortnox-compatible server (OAuth, /3/ API, SIE export, faults).",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    p.add_argument("--companies", type=int, default=2, help="number of tenants")
    p.add_argument("--seed", type=int, default=1, help="seed of the generated books")
    p.add_argument("--vouchers-per-year", type=int, default=300)
    p.add_argument("--first-year", type=int, default=2024, help="first of the two fiscal years")
    p.add_argument("--token-ttl", type=int, default=3600, help="access token lifetime, seconds")
    p.add_argument("--client-id", default=os.environ.get(CLIENT_ID_ENV, DEFAULT_CLIENT_ID))
    p.add_argument(
        "--client-secret",
        default=None,
        help=f"or env {SECRET_ENV}; without either a random one is written to --secret-file",
    )
    p.add_argument("--secret-file", type=Path, default=DEFAULT_SECRET_FILE)
    p.add_argument(
        "--redirect-uri",
        default=DEFAULT_REDIRECT_URI,
        help="the app's registered redirect URI (several: separated by spaces)",
    )
    p.add_argument("--today", type=date.fromisoformat, default=None, help="YYYY-MM-DD")
    p.add_argument(
        "--locked-until",
        default="auto",
        help="YYYY-MM-DD, 'none', or 'auto' (end of the older fiscal year)",
    )
    p.add_argument("--error-rate", type=float, default=0.0)
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--drop-rate", type=float, default=0.0)
    p.add_argument("--commit-then-drop", type=int, default=0, help="next N voucher POSTs")
    p.add_argument("--commit-then-drop-rate", type=float, default=0.0)
    p.add_argument("--verbose", action="store_true", help="log each request (no query strings)")
    p.add_argument(
        "--state-file",
        type=Path,
        default=None,
        help="keep posted vouchers, files and tokens across restarts in this file (mode 0600)",
    )
    return p.parse_args(argv)


def resolve_secret(args: argparse.Namespace) -> str:
    """The client secret from the flag or env; else a new one written to a private file."""
    secret = args.client_secret or os.environ.get(SECRET_ENV)
    if secret:
        return str(secret)
    secret = secrets.token_urlsafe(32)
    path: Path = args.secret_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(secret + "\n", encoding="utf-8")
    print(f"Generated a client secret; it was written to {path}", flush=True)
    return secret


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    faults = Faults()
    try:
        faults.update(
            {
                "error_rate": args.error_rate,
                "latency_ms": args.latency_ms,
                "drop_rate": args.drop_rate,
                "commit_then_drop": args.commit_then_drop,
                "commit_then_drop_rate": args.commit_then_drop_rate,
            }
        )
    except FaultConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    locked: date | str | None
    if args.locked_until == "auto":
        locked = "auto"
    elif args.locked_until == "none":
        locked = None
    else:
        locked = date.fromisoformat(args.locked_until)
    config = SandboxConfig(
        client_secret=resolve_secret(args),
        host=args.host,
        port=args.port,
        companies=args.companies,
        seed=args.seed,
        vouchers_per_year=args.vouchers_per_year,
        first_year=args.first_year,
        token_ttl=args.token_ttl,
        client_id=args.client_id,
        redirect_uri=args.redirect_uri,
        today=args.today,
        locked_until=locked,
        faults=faults,
        quiet=not args.verbose,
        state_file=args.state_file,
    )
    try:
        server = SandboxServer(config)
    except StateFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if server.sandbox.restored:
        print(f"Restored the state saved in {args.state_file}", flush=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        server.shutdown_from_signal()

    signal.signal(signal.SIGTERM, stop)
    print(f"Client id: {config.client_id}; redirect URI: {config.redirect_uri}", flush=True)
    tenants = ", ".join(str(t) for t in sorted(server.sandbox.apis))
    print(f"Tenants: {tenants}", flush=True)
    try:
        server.serve_forever(announce=lambda line: print(line, flush=True))
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
