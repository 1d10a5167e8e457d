"""Refusals of the decider; the API turns each into a problem+json of its status."""

from __future__ import annotations


class TicketError(Exception):
    status = 409

    def __init__(self, detail: str, **extensions: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class IllegalTransition(TicketError):
    """The action is not allowed from the ticket's state; ``allowed`` says what is."""

    def __init__(self, action: str, state: str, allowed: list[str]) -> None:
        super().__init__(
            f"{action} is not allowed from {state}; allowed: {', '.join(allowed) or 'none'}",
            state=state,
            allowed=allowed,
        )


class NotPermitted(TicketError):
    status = 403


class MissingField(TicketError):
    status = 422

    def __init__(self, action: str, name: str) -> None:
        super().__init__(f"{action} requires {name}", field=name)


class InvalidValue(TicketError):
    status = 422

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(detail, field=name)


class NoSuchTicket(TicketError):
    status = 404
