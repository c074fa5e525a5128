"""The analysts' report: one self-contained HTML file, and the `journeyml report` command."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from journeyml.cli import app
from journeyml.explain.journey_map import journey_metrics


def test_report_is_self_contained_and_complete(predictor, small_simulation, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from journeyml.report import render_report

    out = render_report(predictor, small_simulation.events, tmp_path / "r.html")
    html = out.read_text()
    # no scripts, no external resources: only the SVG namespace may name a URL
    assert "<script" not in html
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}
    for section in (
        "Pain points",
        "Moments of truth",
        "Journey map",
        "Drivers",
        "Example customers",
    ):
        assert section in html
    assert html.count("<svg") >= 6
    assert "support_call" not in re.sub(r"<[^>]+>", "", html).split("Example customers")[0]
    # the held-out evidence: the report says a touchpoint without it
    # is no measurable effect, and why
    text = re.sub(r"<[^>]+>", "", html)
    assert (
        "No measurable effect (interval covers zero, under 0.05 points, or no better "
        "predictions on the observed outcomes):" in text
    )
    assert "made them better on outcomes the model was not fitted to" in text
    # the evidence is pooled over earlier dates, all observed before the moment of prediction
    found = re.findall(r"Held-out evidence from ([\d,]+) customers over (\d+) dates", text)
    assert len(found) == 2  # conversion and churn
    assert all(int(k) >= 2 for _, k in found)
    # the reliability diagrams list their groups' counts: one table per task
    assert text.count("mean prediction") >= 2 and html.count("<th>predictions</th>") == 2
    # 900 journeys with ~20 touchpoints: the ten most common pairs of last touchpoints hold a
    # sixth of the customers; one sentence says so instead of a chart of 2 % paths
    assert "No sequence of the last 2 touchpoints is common" in text


def test_journey_metrics_on_a_tiny_log() -> None:
    import pandas as pd

    ev = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c"],
            "timestamp": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-02",
                    "2024-01-03",
                    "2024-01-01",
                    "2024-01-05",
                    "2024-01-06",
                ],
                utc=True,
            ),
            "touchpoint": ["cart_add", "purchase", "purchase", "cart_add", "site_visit", "visit"],
            "value": [None, 10.0, 20.0, None, None, None],
        }
    )
    m = journey_metrics(ev)
    assert m["conversion_rate"] == 1 / 3
    assert m["cart_abandonment_rate"] == 0.5
    assert m["repeat_purchase_rate"] == 1.0
    assert m["value_per_customer"] == 10.0


def test_report_command_writes_html_and_logs_it(trained_store, small_simulation, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import mlflow

    uri, result = trained_store
    data = tmp_path / "events.parquet"
    small_simulation.events.to_parquet(data)
    out: Path = tmp_path / "report.html"
    res = CliRunner().invoke(
        app,
        [
            "report",
            "--model",
            "champion",
            "--data",
            str(data),
            "--out",
            str(out),
            "--tracking-uri",
            uri,
        ],
    )
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 10_000
    mlflow.set_tracking_uri(uri)
    run_id = result.run_ids["churn"]
    names = [a.path for a in mlflow.MlflowClient().list_artifacts(run_id, "report")]
    assert "report/report.html" in names


def test_outcomes_are_not_pain_points_or_moments(predictor, small_simulation) -> None:  # type: ignore[no-untyped-def]
    """A purchase or a cancellation is what is predicted, not friction on the way: it never
    appears among pain points or moments of truth; the touchpoint paths are reported."""
    from journeyml.report.build import TOUCHPOINT_STEPS, gather

    data = gather(predictor, small_simulation.events)
    assert [s.name for s in data.tasks] == ["conversion", "churn"]
    for sec in data.tasks:
        listed = set(sec.pain["touchpoint"]) | set(sec.helps["touchpoint"])
        listed |= set(sec.moments.get("moment", []))
        assert not listed & {"purchase", "cancellation"}
        # nor among the touchpoints measured at all (which ones are ranked depends on the
        # held-out evidence of this small population)
        assert not set(sec.effects["touchpoint"]) & {"purchase", "cancellation"}
        assert len(sec.effects) >= 10
    assert len(data.touchpoint_paths) > 0
    assert all(len(p.split(" › ")) <= TOUCHPOINT_STEPS for p in data.touchpoint_paths["path"])
    # touchpoint paths end at the moment of prediction: no "(left)" node
    assert "(left)" not in set(data.touchpoint_flow["target"])


def test_flow_links_end_label() -> None:
    import pandas as pd

    from journeyml.explain.journey_map import flow_links

    paths = pd.Series(["a › b", "a"])
    assert set(flow_links(paths)["target"]) == {"b", "(left)"}
    assert set(flow_links(paths, end=None)["target"]) == {"b"}


def test_outcomes_of_unserved_tasks_are_not_pain_points(predictor, small_simulation) -> None:  # type: ignore[no-untyped-def]
    """Served alone (conversion stayed challenger), churn still knows from its model that a
    purchase is what the project predicts: it is not listed as a pain point of churn. Without
    that record, the same report measures it as a touchpoint effect on churn (a customer must
    buy before cancelling). Whether a measured touchpoint is then ranked depends on the
    held-out evidence (on these 641 customers and 42 lapses, no touchpoint has any), so the
    test reads the touchpoints measured, of which the pain points are a part."""
    import copy

    from journeyml.report.build import gather
    from journeyml.scoring import Predictor

    churn = predictor.bundles["churn"]
    assert "purchase" in churn.info["project_outcomes"]
    alone = Predictor({"churn": churn}, project=predictor.project)
    listed = lambda data: set(data.tasks[0].effects["touchpoint"])  # noqa: E731
    assert "purchase" not in listed(gather(alone, small_simulation.events))

    forgotten = copy.copy(churn)
    forgotten.info = {k: v for k, v in churn.info.items() if k != "project_outcomes"}
    blind = Predictor({"churn": forgotten}, project=predictor.project)
    assert "purchase" in listed(gather(blind, small_simulation.events))


def test_a_task_without_a_served_model_is_named_not_dropped(
    predictor, small_simulation, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """A project task whose version stayed challenger is not served: the report says so in a
    line instead of leaving it out without a word (BPIC 2013's waits_for_user, CDNOW's
    conversion)."""
    from journeyml.report import render_report
    from journeyml.scoring import Predictor

    alone = Predictor({"churn": predictor.bundles["churn"]}, project=predictor.project)
    why = "no champion model (its newest version did not pass the promotion gate)"
    html = render_report(
        alone, small_simulation.events, tmp_path / "r.html", absent={"conversion": why}
    ).read_text()
    text = re.sub(r"<[^>]+>", "", html)
    assert f"Conversion: {why}." in text
    assert "Churn — churn risk" in text and "Conversion —" not in text


def test_example_customers_are_not_given_predictions_they_are_not_eligible_for(
    predictor, small_simulation
) -> None:  # type: ignore[no-untyped-def]
    """An example customer who already bought is not shown a chance of converting (the B2B
    report showed a churn risk for an account with no contract): the task reads "not
    eligible" with the API's reason, and a customer with no purchase yet is shown one."""
    import pandas as pd

    from journeyml.report.build import gather
    from journeyml.report.render import _example

    ev = small_simulation.events
    data = gather(predictor, ev, n_examples=3)
    for e in data.examples:
        before = ev[
            (ev["customer_id"] == e["customer_id"]) & (ev["timestamp"] < pd.Timestamp(e["as_of"]))
        ]
        bought = bool((before["touchpoint"] == "purchase").any())
        shown = {t["title"]: t["headline"] for t in _example(e, data)["tasks"]}
        assert shown["Conversion"].startswith("not eligible: ") == bought
        assert ("conversion" in e["not_eligible"]) == bought
    assert len(data.examples) == 3
