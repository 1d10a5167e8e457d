"""Why a command is refused. The shell turns each into a 4xx problem."""


class RoutingError(Exception):
    status = 409

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(RoutingError):
    status = 404


class Conflict(RoutingError):
    """The command does not fit the current state (e.g. the offer expired)."""


class Invalid(RoutingError):
    status = 422
