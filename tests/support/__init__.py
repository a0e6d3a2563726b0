"""Helpers the tests share: factories, loopback peers, the web harness, waiting, the CLI runner.

Test modules import them as ``support.<module>`` (tests/ is on sys.path through tests/conftest.py);
no test module imports from another test module.
"""
