"""Personal data rights and retention.

`export.py`: a person's copy of everything held about them; `erase.py`: their erasure, keeping only the
anonymised orders the accounts need; `inventory.py`: the personal data held, by category, for the record of
processing; `retention.py`: each kind deleted on time; `notice.py`: what people are told, from the same settings.
`people.py` finds the person a request names; `conversations.py` reads and deletes the conversation history Rasa
keeps in the same database.

These use cases read across the whole core (accounts, checkout, payments, the outbox), so they live above it.
Chat commands and the admin CLI call the same functions.
"""
