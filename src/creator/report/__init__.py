"""Looking at finished runs: the paper's tables and figures, and the HTML trace viewer.

Everything here only reads run directories (``config.json``, ``results.jsonl``,
``summary.json``); nothing runs model code or calls a model.

The report (``creator report``): :mod:`~creator.report.runs` reads a run directory,
:mod:`~creator.report.measures` counts (with Wilson intervals), :mod:`~creator.report.rows`
decides which runs share a table row, :mod:`~creator.report.paper` lays the counts out as
the paper's accuracy tables and :mod:`~creator.report.usage` as the rounds, cost and overview
tables (:mod:`~creator.report.tables`: Markdown and CSV; :mod:`~creator.report.compact`: the
terminal's layout for narrow widths), :mod:`~creator.report.costs` prices tokens,
:mod:`~creator.report.plots` draws the figures (matplotlib, the ``report`` extra),
:mod:`~creator.report.equal_cost` puts accuracy against tokens spent (per k for sampled
runs) and :mod:`~creator.report.document` writes them all. ``creator compare``:
:mod:`~creator.report.compare` pairs two runs' problems and
:mod:`~creator.report.significance` tests the difference (exact McNemar, paired bootstrap).
This package root imports none of them, so importing one module stays cheap.
"""

__all__: list[str] = []
