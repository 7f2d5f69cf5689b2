"""One export run in its own (spawned) process, as an Airflow worker would run it.

Kept apart from the test module so that a spawned child imports only what a worker imports.
Progress lines go to a file (line by line, flushed): the parent counts them to kill the
worker at a chosen point, and a SIGKILL mid-write harms nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from include.closing.export import ExportSettings, export_approval
from include.closing.export_testing import paced_session
from include.fortnox.client import RetryPolicy
from include.fortnox.config import FortnoxSettings

EXIT_OK, EXIT_NOT_DONE, EXIT_ERROR = 0, 1, 3


@dataclass(frozen=True)
class Job:
    warehouse_url: str
    approval_id: str
    settings: FortnoxSettings
    pacer_dir: str
    max_requests: int
    window: float
    env: dict[str, str]
    progress: str  # file path


def run_job(job: Job) -> None:
    os.environ.update(job.env)

    progress = Path(job.progress)
    with progress.open("a", encoding="utf-8", buffering=1) as out:

        def say(line: str) -> None:
            out.write(line.replace("\n", " ") + "\n")
            out.flush()

        session = paced_session(
            job.settings,
            job.pacer_dir,
            max_requests=job.max_requests,
            window=job.window,
            retry=RetryPolicy(base_delay=0.05, max_delay=0.5),
        )
        try:
            report = export_approval(
                job.warehouse_url,
                job.approval_id,
                session.client,
                settings=ExportSettings(base_delay=0.05, max_delay=0.5),
                say=say,
            )
        except Exception as exc:
            say(f"EXCEPTION {type(exc).__name__}: {exc}")
            os._exit(EXIT_ERROR)
        finally:
            session.close()
        say("REPORT " + json.dumps(report.to_json()))
    os._exit(EXIT_OK if report.ok else EXIT_NOT_DONE)
