"""bitagent: the command-line toolkit for BitAgent (Bittensor subnet 20 / testnet 76).

Pipeline: ``tasks`` (suites, the Task/FunctionCall types) -> ``serving`` (model servers) ->
``scoring`` (parse + check) -> ``store`` (results cache, validator state); ``chain`` is the only
module that imports bittensor; ``neurons`` holds the miner and validator; ``cli`` is a thin shell.
"""

__version__ = "0.1.0"

from .tasks._types import ExpectedCall, FunctionCall, Task, Tool  # noqa: E402

__all__ = ["ExpectedCall", "FunctionCall", "Task", "Tool", "__version__"]
