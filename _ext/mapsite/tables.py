"""Placeholder: filled in by the tables work."""


def setup(app):
    return {"parallel_read_safe": True, "parallel_write_safe": True}
