"""Messages rendered from templates: the bounded Jinja2 sandbox, its limits and watchdog, stored
and pinned templates.
"""
