"""Your own activation and loss, from expressions: proven, checked, derived and typeset."""
import gradproof

swish = gradproof.define_activation("swish", "z*sigmoid(z)")                 # swish' by sympy.diff
gelu = gradproof.define_activation("gelu", "z*(1 + erf(z/sqrt(2)))/2")
logcosh = gradproof.define_loss("logcosh", "log(cosh(a - y))", "tanh(a - y)")  # your rule, proven

network = gradproof.Network.from_spec("2,3,2", [swish, gelu], logcosh)
proof = gradproof.prove(network)
print(proof.lemmas)
assert proof.ok
assert gradproof.check_gradient(gradproof.random_sample(network, seed=0)).ok
