"""The read side of cases: work lists and counts, a case's timeline, the auditors' trail and exports, the
admins' notices. Reads only; every change goes through the services in cases/."""
