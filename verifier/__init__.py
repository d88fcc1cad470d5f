"""The standalone offline verifier (casework_verify.py needs only the standard library and cryptography)."""
