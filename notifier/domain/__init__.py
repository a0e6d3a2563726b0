"""Pure rules and values of the domain: sectors, targets, tokens, SMS length, working days,
schedules. No I/O.
"""
