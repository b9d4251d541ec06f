"""The subnet's neurons: the wire protocol (``protocol``), the miner (``miner``) and the validator.

Only ``cli/`` imports this package; nothing here is imported at package import time.
"""
