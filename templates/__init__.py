"""Jinja pages and the default document templates; shipped in the wheel as `addin_server.templates`."""
