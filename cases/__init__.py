"""The case-management domain: models, services, read-side queries and the audit chain.

Never imports Flask: services take a SQLAlchemy session, a clock and an actor as parameters.
"""
