"""Shared plumbing of SmartketPlace chat: deployment settings, database, accounts, money, errors, i18n.

Nothing here imports a chat platform, Rasa or the CLI.
"""
