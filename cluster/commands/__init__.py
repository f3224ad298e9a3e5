"""Handlers of the ``safecity`` sub-commands: parsed arguments and a runtime in, exit code out."""
