"""A zoo of hand-written layers (correct and buggy) in the common course convention; pure numpy."""
