"""The objects a user meets in a REPL show a short one-line summary, not a dump of every expression."""
import numpy as np

import gradproof as g

LONGEST = 400  # characters: a line a reader takes in at once, with the network's description in it


def _one_line(text: str) -> str:
    assert "\n" not in text and len(text) <= LONGEST, text
    return text


def test_network_proof_and_check_reprs_are_one_informative_line():
    network = g.Network.source_text()
    assert "[2,3,3,2]" in _one_line(repr(network))
    sample = g.random_sample(network, seed=0)
    result = g.check_gradient(sample)
    text = _one_line(repr(result))
    assert text.startswith("<CheckResult agree") and "29/29" in text
    proof = g.prove(network)
    assert "29/29" in _one_line(repr(proof))


def test_a_failing_check_says_so_in_its_repr():
    network = g.Network.source_text()
    sample = g.random_sample(network, seed=1)

    true = g.check_gradient(sample).comparison.analytic

    def doubled(wbar, x, y, reduction):  # the negative control: twice the true gradient
        return [2 * gradient for gradient in true]

    text = _one_line(repr(g.check_gradient(sample, doubled)))
    assert text.startswith("<CheckResult differ") and "29 failing" in text


def test_a_large_sample_is_shown_by_its_shapes():
    sample = g.random_sample(g.Network.from_spec("64,128,128,10") if hasattr(g.Network, "from_spec")
                             else g.Network([64, 128, 128, 10], "sigmoid", "half-sse"), seed=0)
    text = _one_line(repr(sample))
    assert "(128, 65)" in text


def test_layer_check_repr_names_each_gradient_and_its_status():
    def forward(x, w):
        return x @ w, (x, w)

    def backward(dout, cache):
        x, w = cache
        return dout @ w.T, x.T @ dout

    rng = np.random.default_rng(0)
    check = g.check_layer(forward, backward, (rng.normal(size=(3, 4)), rng.normal(size=(4, 2))))
    text = _one_line(repr(check))
    assert "agree" in text and "dx agree" in text
