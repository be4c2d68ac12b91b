"""The evaluation harness: datasets x methods x models, concurrent, resumable, scored.

See :func:`run_eval`. Reports and the trace viewer read the files it writes
(``config.json``, ``results.jsonl``, ``summary.json``); they are not built here.
"""

from creator.eval.config import EvalConfig
from creator.eval.records import ProblemRecord, ResultsFile
from creator.eval.runner import Progress, load_config, run_eval, score
from creator.eval.summary import summarize

__all__ = [
    "EvalConfig",
    "ProblemRecord",
    "Progress",
    "ResultsFile",
    "load_config",
    "run_eval",
    "score",
    "summarize",
]
