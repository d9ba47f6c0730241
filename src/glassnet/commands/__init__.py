"""CLI subcommands beyond `info`: demo, train, evaluate, predict (each add_parser + run)."""
