"""`python -m core.manage rebuild-rollups` and `usage-export`, in-process."""

from __future__ import annotations

import json

from core import manage
from core.db import ROLLUPS
from tests.support.usage_data import DATASET, seed_dataset


def test_cli_rebuild_and_export(db, tmp_path, capsys):
    seed_dataset(db, duplicate=False)
    db[ROLLUPS].delete_many({})
    assert manage.main(["rebuild-rollups", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["calls"] == len(DATASET) and report["possibly_uncounted"] == 0
    assert db[ROLLUPS].find_one({"_id": "day|2025-03-03"})["c"]["calls"] == 4
    out = tmp_path / "usage.csv"
    args = ["usage-export", "--from", "2025-03-03", "--to", "2025-03-04", "--out", str(out), "--json"]
    assert manage.main(args) == 0
    assert json.loads(capsys.readouterr().out) == {
        "rows": 7,
        "truncated": False,
        "total_cost": "0.4575",
        "file": str(out),
    }
    assert manage.main(["usage-export", "--from", "2025-03-04", "--to", "2025-03-03", "--out", str(out)]) == 1
    assert "end date" in capsys.readouterr().err
