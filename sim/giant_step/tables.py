"""Tables of giant-step records (``sim.giant_step.record.RunRecord``, THEORY.md §3): one flat row per run, a
per-case summary over seeds, CSV and (when pandas is importable) DataFrame export.

A *case* is a config up to its seed: the runs of a sweep that differ only in their seed. The per-case
summary has the config fields that vary across the records as its columns (the others are the same for
every run and are said once above the table), the number of seeds, and the mean ± standard error over the
seeds of the final test error and of the largest singular value of the final overlap matrix ``M``.
:func:`run_rows` flattens every record (all config fields, seed, ``n``, the test error after each step, the
final singular values, timings, peak memory) for :func:`write_csv` (stdlib ``csv``) and :func:`to_dataframe`.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.giant_step.record import RunRecord

SINGULAR_VALUES = 3  # run_rows: the first singular values of the final M, as s1, s2, s3


def _final_error(rec: RunRecord) -> float | None:
    """The test error of the last readout of the run (``None`` without one)."""
    errors = [e.test_error for e in rec.per_step if e.test_error is not None]
    return float(errors[-1]) if errors else None


def run_rows(records: Sequence[RunRecord]) -> list[dict[str, Any]]:
    """One flat row per record: ``key``, ``seed``, every config field, ``n``, ``test_error`` (final) and
    ``test_error_t0`` … ``test_error_tT``, ``s1``…``s3`` of the final ``M``, ``steps_s``, ``total_s``, ``peak_mib``.

    Parameters
    ----------
    records : sequence of RunRecord
        Giant-step records.

    Returns
    -------
    list of dict
        The rows, in record order (values are numbers, strings or ``None``; lists joined with spaces).
    """
    rows = []
    for rec in records:
        row: dict[str, Any] = {"key": rec.key, "seed": rec.seed}
        for name, value in rec.config.items():
            row[name] = " ".join(map(str, value)) if isinstance(value, (list, tuple)) else value
        row["n"] = rec.n
        row["test_error"] = _final_error(rec)
        for e in rec.per_step:
            row[f"test_error_t{e.t}"] = e.test_error
        sv = rec.singular_values[:SINGULAR_VALUES]
        row.update({f"s{i + 1}": (sv[i] if i < len(sv) else None) for i in range(SINGULAR_VALUES)})
        row.update({"steps_s": rec.timings.get("steps"), "total_s": rec.timings.get("total"),
                    "peak_mib": rec.peak_memory_bytes / 2**20 if rec.peak_memory_bytes is not None else None})
        rows.append(row)
    return rows


def varied_fields(records: Sequence[RunRecord]) -> list[str]:
    """The config fields whose values differ across ``records`` (in config order); the seed is not a field."""
    names: list[str] = []
    for rec in records:
        names += [k for k in rec.config if k not in names]
    return [k for k in names if len({repr(rec.config.get(k)) for rec in records}) > 1]


def _mean_se(values: Sequence[float]) -> tuple[float, float] | None:
    """Mean and standard error (``nan`` with one value); ``None`` without values."""
    if not values:
        return None
    m = sum(values) / len(values)
    if len(values) < 2:
        return m, math.nan
    var = sum((v - m) ** 2 for v in values) / (len(values) - 1)
    return m, math.sqrt(var / len(values))


def _fmt(x: tuple[float, float] | None) -> str:
    if x is None:
        return "-"
    m, se = x
    return f"{m:.4g}" if math.isnan(se) else f"{m:.4g} ± {se:.2g}"


def case_rows(records: Sequence[RunRecord]) -> tuple[list[str], list[dict[str, Any]]]:
    """The per-case summary as data: the varied fields and one row per case (in first-seen order) with those
    fields, ``seeds``, ``test_error`` and ``s1`` as ``(mean, standard error)`` (or ``None``)."""
    fields = varied_fields(records)
    cases: dict[tuple[str, ...], list[RunRecord]] = {}
    for rec in records:
        cases.setdefault(tuple(repr(rec.config.get(k)) for k in fields), []).append(rec)
    rows = []
    for recs in cases.values():
        errors = [e for e in (_final_error(r) for r in recs) if e is not None]
        s1 = [float(r.singular_values[0]) for r in recs if r.singular_values]
        rows.append({**{k: recs[0].config.get(k) for k in fields}, "seeds": len(recs),
                     "test_error": _mean_se(errors), "s1": _mean_se(s1)})
    return fields, rows


def case_table(records: Sequence[RunRecord]) -> str:
    """The per-case summary as text: the fields every run shares on one line, then one line per case with the
    varied fields as columns, the seed count and mean ± s.e. over seeds of the final test error and of ``σ1(M)``.

    Parameters
    ----------
    records : sequence of RunRecord
        Giant-step records (any number of cases and seeds).

    Returns
    -------
    str
    """
    if not records:
        return "(no runs)"
    fields, rows = case_rows(records)
    shared = {k: v for k, v in records[0].config.items() if k not in fields}
    head = [*fields, "seeds", "test error (mean ± s.e.)", "σ1(M) final (mean ± s.e.)"]
    lines = [[str(r[k]) for k in fields] + [str(r["seeds"]), _fmt(r["test_error"]), _fmt(r["s1"])] for r in rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
    fmt = lambda r: "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()  # noqa: E731
    common = ", ".join(f"{k}={v}" for k, v in shared.items() if k in ("target", "activation", "d", "p", "steps",
                                                                       "n_exp", "readout"))
    return "\n".join([f"per case ({len(rows)} cases, {len(records)} runs; every run: {common})",
                      fmt(head), fmt(["-" * w for w in widths]), *map(fmt, lines)])


def write_csv(records: Sequence[RunRecord], path: str | Path) -> Path:
    """Write :func:`run_rows` of ``records`` as CSV (header from every row's columns, in first-seen order).

    Parameters
    ----------
    records : sequence of RunRecord
        Giant-step records.
    path : str or Path
        The CSV file (``-`` is not special: a path).

    Returns
    -------
    Path
        ``path``.
    """
    rows = run_rows(records)
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def to_dataframe(records: Sequence[RunRecord]) -> Any:
    """:func:`run_rows` as a ``pandas.DataFrame`` (pandas is optional: ``ImportError`` saying so without it)."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("to_dataframe needs pandas, which sim does not depend on; pip install pandas, or use "
                          "write_csv") from None
    return pd.DataFrame(run_rows(records))


__all__ = ["case_rows", "case_table", "run_rows", "to_dataframe", "varied_fields", "write_csv"]
