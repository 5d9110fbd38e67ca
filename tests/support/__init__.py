"""Test support: a fake of Telegram's Bot API and a real Synapse homeserver for the end-to-end tests."""
