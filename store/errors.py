"""Errors the store raises; each message is one line meant for a person."""


class StoreError(Exception):
    """Base of every store error."""


class WorkspaceMissing(StoreError):
    pass


class WorkspaceTooNew(StoreError):
    pass


class NotFound(StoreError):
    pass


class NameTaken(StoreError):
    pass


class InvalidName(StoreError):
    pass
