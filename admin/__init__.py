"""The admin command line of SmartketPlace chat, one module per command group (`admin_cli.py` assembles them).

`context.py` holds what every command shares (the deployment, the language, the consoles), passed through
Typer's context. Commands only parse their options, call a core service and print its answer. Each imports
what it needs when it runs, so `--help` and the quick commands load no payment, search or dialogue library.
"""
