"""The errors gradproof raises on bad input.

Every message names what is wrong and how to fix it, in one line: the command line prints it as is and
exits with status 2, Python callers catch the typed exception.
"""


class GradproofError(Exception):
    """Base class of every error gradproof raises on purpose."""


class InputError(GradproofError, ValueError):
    """Bad input: a layer size, a name, an array or an option that cannot be used as given."""


class NetworkSpecError(InputError):
    """A network description (sizes, activations, loss, bias) that does not describe a network."""


class UnknownNameError(NetworkSpecError):
    """An activation or loss name that gradproof does not know; the message lists the ones it does."""
