"""Stores: the evaluation results cache (``results``) and the validator's state (``validator_state``)."""

from .results import ResultKey, ResultStore, StoredResult, default_path

__all__ = ["ResultKey", "ResultStore", "StoredResult", "default_path"]
