"""Open a journeyml report in headless Chromium and save a screenshot (docs/report.png).

Usage::

    python benchmarks/report_screenshot.py [REPORT.html] [--out docs/report.png]

Without a report it trains the small test pipeline into a temporary MLflow store, simulates
journeys and builds one. Needs Debian's ``chromium`` (``apt-get install -y chromium``); not a
test, because CI has no browser. Network is disabled in the browser: what you see is what opens
offline.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--hide-scrollbars",
]


def build_report(out: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import SMALL_PIPELINE  # type: ignore[import-not-found]
    from journeyml.lifecycle import PipelineConfig, run_training
    from journeyml.report import render_report
    from journeyml.scoring import Predictor
    from journeyml.sim import simulate

    tmp = Path(tempfile.mkdtemp(prefix="journeyml-report-"))
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    run_training(PipelineConfig.model_validate(SMALL_PIPELINE), tracking_uri=uri)
    sim = SMALL_PIPELINE["data"]["simulate"]  # type: ignore[index]
    events = simulate(sim["customers"], seed=sim["seed"], days=sim["days"]).events
    return render_report(Predictor.from_registry(uri), events, out)


def screenshot(
    report: Path, png: Path, *, width: int = 1400, height: int = 3000, scale: float = 1.0
) -> Path:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium not found: apt-get update && apt-get install -y chromium")
    png.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        browser,
        *FLAGS,
        f"--force-device-scale-factor={scale:g}",
        f"--screenshot={png.resolve()}",
        f"--window-size={width},{height}",
        report.resolve().as_uri(),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return png


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", nargs="?", type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "report.png")
    ap.add_argument("--height", type=int, default=3000)
    ap.add_argument("--scale", type=float, default=1.0, help="device scale (0.6: smaller PNG)")
    args = ap.parse_args()
    report = args.report or build_report(Path(tempfile.mkdtemp()) / "report.html")
    print(screenshot(report, args.out, height=args.height, scale=args.scale))


if __name__ == "__main__":
    main()
