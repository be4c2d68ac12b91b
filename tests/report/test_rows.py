"""Honest rows: runs made with other settings are never merged, each cell names its run, and a
stopped run is marked partial."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from creator.report.paper import (
    ROWS_NOTE,
    creation_by_hint_table,
    math_by_level_table,
    method_by_dataset_table,
)
from creator.report.runs import Coverage, load_run, load_runs, row_settings
from creator.report.tables import to_markdown
from creator.report.usage import costs_table, runs_table
from tests.report.conftest import rec, write_run


def rows(table) -> list[dict[str, object]]:
    return [dict(zip(table.header, row, strict=True)) for row in table.rows]


def math(tmp_path: Path, name: str, **settings: Any) -> Path:
    records = [rec("math/algebra/0", strict=True, level=1), rec("math/algebra/1", strict=False)]
    return write_run(tmp_path / name, records, dataset="math", **settings)


def test_runs_of_one_setting_share_a_row_and_name_their_cells(tmp_path: Path) -> None:
    m = math(tmp_path, "math")
    t = write_run(tmp_path / "tab", [rec("tabmwp/0", strict=True)], dataset="tabmwp")
    c = write_run(tmp_path / "cc", [rec("creation/0", strict=False)], dataset="creation")
    table = method_by_dataset_table(load_runs([m, t, c]))
    (row,) = rows(table)
    assert (row["MATH"], row["TabMWP"], row["Creation Challenge"]) == (0.5, 1.0, 0.0)
    assert row["runs"] == f"MATH: {m}; TabMWP: {t}; Creation Challenge: {c}"
    assert "settings" not in table.header  # nothing to tell apart
    assert ROWS_NOTE in table.notes


def test_different_settings_are_never_merged_and_are_named(tmp_path: Path) -> None:
    """The reported bug: a MATH run, a stopped TabMWP run and a CC run in one row; here the
    TabMWP run had another temperature and the CC run other rounds, so they are three rows."""
    m = math(tmp_path, "math")
    t = write_run(tmp_path / "tab", [rec("tabmwp/0", strict=True)], dataset="tabmwp",
                  ids=[f"tabmwp/{i}" for i in range(4)], settings={"temperature": 0.7})  # fmt: skip
    c = write_run(tmp_path / "cc", [rec("creation/0", strict=False)], dataset="creation",
                  rectify_rounds=1)  # fmt: skip
    table = method_by_dataset_table(load_runs([m, t, c]))
    got = {r["runs"]: r["settings"] for r in rows(table)}
    assert got == {
        f"MATH: {m}": "temperature=0.3, rectify_rounds=3",
        f"TabMWP: {t} (partial: 1 of 4 selected)": "temperature=0.7, rectify_rounds=3",
        f"Creation Challenge: {c}": "temperature=0.3, rectify_rounds=1",
    }
    assert table.header[:3] == ["method", "model", "settings"]
    assert "temperature=0.7, rectify\\_rounds=3" in to_markdown(table)


def test_two_runs_of_one_dataset_with_other_settings_are_two_labelled_rows(
    tmp_path: Path,
) -> None:
    runs = load_runs([
        math(tmp_path, "a"),
        math(tmp_path, "b", scoring="paper"),
        math(tmp_path, "c", hint="none", limits={"timeout_s": 5}),
    ])  # fmt: skip
    table = method_by_dataset_table(runs)
    labels = sorted(str(label) for label in table.column("settings"))
    assert labels == [
        "scoring=paper, limits.timeout_s=10",
        "scoring=strict, limits.timeout_s=10",
        "scoring=strict, limits.timeout_s=5",
    ]
    # one row per run in the per-run tables too, with the same labels
    assert sorted(str(x) for x in math_by_level_table(runs).column("settings")) == labels


def test_a_repeat_with_the_same_settings_is_numbered(tmp_path: Path) -> None:
    table = method_by_dataset_table(load_runs([math(tmp_path, "a"), math(tmp_path, "b")]))
    assert table.column("settings") == [None, "repeat 2"]
    assert [r["runs"] for r in rows(table)] == [
        f"MATH: {tmp_path / 'a'}",
        f"MATH: {tmp_path / 'b'}",
    ]


def test_other_models_and_methods_never_get_a_label(tmp_path: Path) -> None:
    runs = load_runs([math(tmp_path, "a"), math(tmp_path, "b", method="pot", model="x")])
    assert "settings" not in method_by_dataset_table(runs).header


def test_the_hint_mode_is_the_column_not_a_row_setting(creation_runs: list[Path]) -> None:
    table = creation_by_hint_table(load_runs(creation_runs[:3]))
    (row,) = rows(table)
    assert (row["no hint"], row["utility hint"], row["all hints"]) == (0.5, 1.0, 0.25)
    assert "settings" not in table.header


def test_a_stopped_run_is_partial_everywhere(tmp_path: Path) -> None:
    ids = [f"tabmwp/{i}" for i in range(10)]
    path = write_run(tmp_path / "killed", [rec(i, strict=True) for i in ids[:3]],
                     dataset="tabmwp", ids=ids)  # fmt: skip
    run = load_run(path)
    assert run.coverage == Coverage(done=3, selected=10) and run.partial
    assert run.display_name == f"{path} (partial: 3 of 10 selected)"
    assert method_by_dataset_table([run]).column("runs") == [
        f"TabMWP: {path} (partial: 3 of 10 selected)"
    ]
    overview = runs_table([run])
    assert overview.column("run") == [run.display_name]
    assert any(note.startswith("Partial:") for note in overview.notes)
    from creator.report.costs import known_prices

    assert costs_table([run], prices=known_prices()).column("run") == [run.display_name]


def test_a_limit_is_what_was_selected(tmp_path: Path) -> None:
    records = [rec(f"tabmwp/{i}", strict=True) for i in range(3)]
    done = write_run(tmp_path / "done", records, dataset="tabmwp", ids=(), limit=3)
    assert load_run(done).coverage == Coverage(done=3, selected=3)
    more = write_run(tmp_path / "more", records, dataset="tabmwp", ids=(), limit=5)
    assert load_run(more).partial


def test_a_dataset_this_version_cannot_select_from(tmp_path: Path) -> None:
    """A custom dataset (``--dataset PATH``) is reported under its own name; whether it is
    partial comes from summary.json when there is one."""
    records = [rec(f"gsm8k-mini/{i}", strict=i == 0, dataset="gsm8k-mini") for i in range(2)]
    path = write_run(tmp_path / "custom", records, dataset="gsm8k-mini")
    m = math(tmp_path, "math")
    table = method_by_dataset_table(load_runs([m, path]))
    (row,) = rows(table)
    assert (row["gsm8k-mini n"], row["gsm8k-mini"]) == (2, 0.5)
    assert row["runs"] == f"MATH: {m}; gsm8k-mini: {path}"
    assert load_run(path).coverage is None
    (path / "summary.json").write_text(json.dumps({"n": 2, "selected": 7}))
    assert load_run(path).coverage == Coverage(done=2, selected=7)
    (path / "summary.json").write_text("{broken")
    assert load_run(path).coverage is None


def test_row_settings_leave_out_what_only_selects_problems(tmp_path: Path) -> None:
    run = load_run(math(tmp_path, "a", subjects=["algebra"], sample=2, seed=4, limit=9))
    settings = row_settings(run.config)
    assert settings["temperature"] == "0.3" and settings["rectify_rounds"] == "3"
    assert settings["limits.timeout_s"] == "10" and settings["hint"] == "none"
    assert settings["settings.seed"] == "none"  # the model's seed, not the sample's
    for name in ("dataset", "method", "model", "subjects", "ids", "sample", "seed", "limit"):
        assert name not in settings


def test_per_run_tables_name_only_real_differences(tmp_path: Path) -> None:
    m = math(tmp_path, "math")
    t = write_run(tmp_path / "tab", [rec("tabmwp/0", strict=True)], dataset="tabmwp")
    c = write_run(tmp_path / "cc", [rec("creation/0", strict=True)], dataset="creation",
                  hint="utility")  # fmt: skip
    assert "settings" not in runs_table(load_runs([m, t, c])).header  # not "repeat"s
    again = math(tmp_path, "again")
    table = runs_table(load_runs([m, t, again]))
    assert dict(zip(table.column("run"), table.column("settings"), strict=True)) == {
        str(again): None, str(m): "repeat 2", str(t): None,
    }  # fmt: skip


def test_a_custom_prompt_set_is_a_short_label(tmp_path: Path) -> None:
    a = math(tmp_path, "a", prompts={"creator/system.md": "1" * 64, "examples/math.md": "2" * 64})
    b = math(tmp_path, "b", prompts={"creator/system.md": "3" * 64, "examples/math.md": "2" * 64})
    labels = method_by_dataset_table(load_runs([a, b])).column("settings")
    assert all(str(x).startswith("prompts=") and len(str(x)) == len("prompts=") + 8 for x in labels)
    assert labels[0] != labels[1]


def test_how_a_custom_dataset_is_checked_does_not_split_a_row(tmp_path: Path) -> None:
    records = [rec("gsm/0", strict=True, dataset="gsm")]
    custom = write_run(tmp_path / "gsm", records, dataset="gsm", answer_kind="numeric")
    table = method_by_dataset_table(load_runs([math(tmp_path, "m"), custom]))
    assert len(table.rows) == 1 and "settings" not in table.header


def test_a_setting_an_older_run_did_not_record_is_named_as_such(tmp_path: Path) -> None:
    old = math(tmp_path, "old")  # made before runs recorded their prompts
    new = math(tmp_path, "new", prompts={"creator/system.md": "1" * 64})
    table = method_by_dataset_table(load_runs([old, new]))
    by_run = dict(zip(table.column("runs"), table.column("settings"), strict=True))
    assert by_run[f"MATH: {old}"] == "prompts=not recorded"
    assert str(by_run[f"MATH: {new}"]).startswith("prompts=")
