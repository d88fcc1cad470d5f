"""The rule language: conditions (from forms) plus actions, compiled to durable-rules; no Flask, no database."""
