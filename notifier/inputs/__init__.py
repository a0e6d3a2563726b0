"""Input files read and checked before anything is stored: policy files, campaign files, enterprise
registers.
"""
