"""The five verdicts of a layer check (and of each input's gradient)."""

AGREE, DIFFER, NOT_IMPLEMENTED, ERROR, UNDECIDABLE = "agree", "differ", "not-implemented", "error", "undecidable"
STATUSES = (AGREE, DIFFER, NOT_IMPLEMENTED, ERROR, UNDECIDABLE)
