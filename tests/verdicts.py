"""What an attack on the watch may end in: a refusal, or any verdict but the one the attack wanted."""

import gradproof
from gradproof.derive.usercode.interpreter import SharedStateChanged


def refused_or_not_agree(forward, backward, args) -> None:
    """check_layer refuses (SharedStateChanged: restored, nothing judged) or says anything but agree."""
    try:
        result = gradproof.check_layer(forward, backward, args)
    except SharedStateChanged as refused:
        assert "restored; nothing was judged" in str(refused)
    else:
        assert result.status != "agree", result.reason
