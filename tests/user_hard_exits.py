"""A --backward file that calls os._exit(0) while it is imported: the check must say so, never end with
status 0 (tests/test_trust_numeric.py)."""
import os

os._exit(0)


def backward(wbar, x, y):  # never reached
    return [w * 0 for w in wbar]
