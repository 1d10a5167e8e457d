"""Clean stops for foreground commands (the broker launcher, ``make run``)."""

import signal


class StopRequest:
    """Becomes true on SIGINT (Ctrl-C) or SIGTERM, instead of raising mid-work."""

    def __init__(self) -> None:
        self.requested = False
        signal.signal(signal.SIGINT, self._request)
        signal.signal(signal.SIGTERM, self._request)

    def _request(self, *_: object) -> None:
        self.requested = True

    def __bool__(self) -> bool:
        return self.requested
