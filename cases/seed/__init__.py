"""Seeding: process packs (a form, its case type, rules and queues shipped together, checked and imported)
and the demo that files and works sample cases through the real services."""
