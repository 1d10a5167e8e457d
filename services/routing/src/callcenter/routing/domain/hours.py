"""Is a queue open at an instant? (Its hours, in the tenant's time zone.)"""

from datetime import datetime
from zoneinfo import ZoneInfo

from callcenter.routing.domain.config import BusinessHours

WORKING_DAYS = range(0, 5)  # Monday to Friday


def is_open(hours: BusinessHours, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(hours.timezone))
    if local.date() in hours.holidays:
        return False
    if hours.pattern == "7x24":
        return True
    if hours.pattern == "5x8" and local.weekday() not in WORKING_DAYS:
        return False
    return hours.opens <= local.strftime("%H:%M") < hours.closes
