"""The benchmark's one error type: bad input (unknown model, unreadable weights, a variant the
device cannot run) in words an operator can act on. The controller CLI maps it to exit 2."""


class BenchError(ValueError):
    """A benchmark request that cannot be carried out, with the reason."""
