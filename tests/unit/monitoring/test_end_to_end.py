"""Log -> late labels -> windows -> triggers -> table, on simulated calibrated traffic and a shift."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from alien.monitoring import (
    PredictionLog,
    RetrainPolicy,
    attach_labels,
    evaluate_windows,
    monitor_windows,
    read_log,
    render_windows,
)

NAMES = ["neg", "pos"]


def _stream(log: PredictionLog, rng: np.random.Generator, u: np.ndarray) -> dict[str, str]:
    """Serve rows whose label is wrong with probability ``u``; return each id's true label."""
    predicted = rng.choice(NAMES, size=u.size)
    wrong = rng.uniform(size=u.size) < u
    rows = [
        {
            "model_name": "clf",
            "model_version": "9",
            "label": str(p),
            "u": float(x),
            "raw_uncertainty": float(x),
            "abstain": bool(x > 0.5),
            "text": f"row {i}",
        }
        for i, (p, x) in enumerate(zip(predicted, u, strict=True))
    ]
    truth = [NAMES[1 - NAMES.index(str(p))] if w else str(p) for p, w in zip(predicted, wrong, strict=True)]
    return dict(zip(log.append(rows), truth, strict=True))


def test_calibrated_traffic_is_estimated_well_and_a_shift_triggers(tmp_path: Path) -> None:
    rng = np.random.default_rng(2024)
    reference_u = rng.beta(1.0, 6.0, size=2000)
    champion_error = float(reference_u.mean())
    log = PredictionLog(tmp_path)
    truth = _stream(log, rng, rng.beta(1.0, 6.0, size=2000))  # 10 in-distribution windows
    truth |= _stream(log, rng, rng.beta(2.0, 4.0, size=400))  # then a shift: 2 windows
    attach_labels(tmp_path, truth, label_names=NAMES)
    reports = monitor_windows(
        read_log(tmp_path), target_risk=0.2, size=200, reference_u=reference_u, drift_alpha=0.001
    )
    assert len(reports) == 12
    gaps = [abs((r.estimated_error or 0) - (r.realised_error or 0)) for r in reports[:10]]
    assert np.mean(gaps) < 0.03
    policy = RetrainPolicy(error_above_champion=0.001, drift=0.001, guarantee_violation=None)
    fired = evaluate_windows(reports, policy, champion_test_error=champion_error)
    assert {t.window for t in fired} == {"rows 2000-2199", "rows 2200-2399"}
    assert {t.name for t in fired} == {"error_above_champion", "drift_u"}
    table = render_windows(reports, triggers=fired)
    assert table.count("error_above_champion, drift_u") == 2 and len(table.splitlines()) == 14
