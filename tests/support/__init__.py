"""What the tests share: the complaint fixtures, helpers that set up or inspect the system, one copy each.

pytest fixtures stay in the conftest files and call these; no test module imports another test module.
"""
