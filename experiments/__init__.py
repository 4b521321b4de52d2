"""Built-in experiment configurations (``*.yaml``), shipped as package data.

Read them by name with :func:`training.config.load_experiment` (``"default"``, ``"quick"``).
"""
