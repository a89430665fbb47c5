"""A --backward file that calls sys.exit(0) while it is imported (a leftover debugging exit): the check must
say so, never end with status 0 (README, Bad input; tests/test_trust_numeric.py)."""
import sys

sys.exit(0)


def backward(wbar, x, y):  # never reached
    return [w * 0 for w in wbar]
