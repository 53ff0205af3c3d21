"""Failures an operator acts on: the CLI prints their message as one line, never a traceback.

Kept free of heavy imports so the CLI can catch them without loading the database and Kafka clients.
"""


class OperatorError(RuntimeError):
    """The message says what is wrong and what to do (run `lif migrate`, start the database...)."""
