"""Entrypoints: the embedded runtime (`lif run`) and one process per service (`lif serve`)."""
