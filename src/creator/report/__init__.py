"""Looking at finished runs: the paper's tables and figures, and the HTML trace viewer.

Everything here only reads run directories (``config.json``, ``results.jsonl``,
``summary.json``); nothing runs model code or calls a model.
"""
