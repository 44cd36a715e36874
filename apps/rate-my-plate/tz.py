"""Local dates and times in an office's time zone, without a time-zone
database: the sandbox has no files, so `zoneinfo` finds no zones. The zones
offices are in most are listed with their standard offset and their
daylight-saving rule (EU, North America, Australia, New Zealand), as
apps/unicorn does in JavaScript. An office in a zone not listed is refused
at configuration time (`offices.py`), never silently run on UTC."""

import datetime

EU = "eu"  # last Sunday of March 01:00 UTC -> last Sunday of October 01:00 UTC
US = "us"  # second Sunday of March 02:00 local -> first Sunday of November 02:00 local
AU = "au"  # first Sunday of October 02:00 local -> first Sunday of April 03:00 local
NZ = "nz"  # last Sunday of September 02:00 local -> first Sunday of April 03:00 local

# zone -> (standard offset in minutes east of UTC, rule or None)
ZONES = {
    "UTC": (0, None), "Etc/UTC": (0, None), "GMT": (0, None), "Etc/GMT": (0, None),
    "Europe/London": (0, EU), "Europe/Dublin": (0, EU), "Europe/Lisbon": (0, EU),
    "Atlantic/Canary": (0, EU), "Atlantic/Reykjavik": (0, None), "Africa/Abidjan": (0, None),
    "Africa/Accra": (0, None), "Africa/Dakar": (0, None), "Africa/Casablanca": (60, None),
    "Europe/Berlin": (60, EU), "Europe/Paris": (60, EU), "Europe/Madrid": (60, EU),
    "Europe/Rome": (60, EU), "Europe/Amsterdam": (60, EU), "Europe/Brussels": (60, EU),
    "Europe/Vienna": (60, EU), "Europe/Zurich": (60, EU), "Europe/Stockholm": (60, EU),
    "Europe/Oslo": (60, EU), "Europe/Copenhagen": (60, EU), "Europe/Warsaw": (60, EU),
    "Europe/Prague": (60, EU), "Europe/Budapest": (60, EU), "Europe/Belgrade": (60, EU),
    "Europe/Zagreb": (60, EU), "Europe/Ljubljana": (60, EU), "Europe/Bratislava": (60, EU),
    "Europe/Luxembourg": (60, EU), "Europe/Monaco": (60, EU), "Europe/Malta": (60, EU),
    "Africa/Lagos": (60, None), "Africa/Algiers": (60, None), "Africa/Tunis": (60, None),
    "Europe/Athens": (120, EU), "Europe/Helsinki": (120, EU), "Europe/Kiev": (120, EU),
    "Europe/Kyiv": (120, EU), "Europe/Riga": (120, EU), "Europe/Tallinn": (120, EU),
    "Europe/Vilnius": (120, EU), "Europe/Bucharest": (120, EU), "Europe/Sofia": (120, EU),
    "Asia/Nicosia": (120, EU), "Africa/Johannesburg": (120, None), "Africa/Cairo": (120, None),
    "Europe/Moscow": (180, None), "Europe/Istanbul": (180, None), "Asia/Riyadh": (180, None),
    "Asia/Qatar": (180, None), "Africa/Nairobi": (180, None),
    "Asia/Dubai": (240, None), "Asia/Karachi": (300, None), "Asia/Tashkent": (300, None),
    "Asia/Kolkata": (330, None), "Asia/Calcutta": (330, None), "Asia/Colombo": (330, None),
    "Asia/Kathmandu": (345, None), "Asia/Dhaka": (360, None),
    "Asia/Bangkok": (420, None), "Asia/Jakarta": (420, None), "Asia/Ho_Chi_Minh": (420, None),
    "Asia/Shanghai": (480, None), "Asia/Hong_Kong": (480, None), "Asia/Singapore": (480, None),
    "Asia/Taipei": (480, None), "Asia/Manila": (480, None), "Asia/Kuala_Lumpur": (480, None),
    "Australia/Perth": (480, None), "Asia/Tokyo": (540, None), "Asia/Seoul": (540, None),
    "Australia/Darwin": (570, None), "Australia/Adelaide": (570, AU),
    "Australia/Brisbane": (600, None), "Australia/Sydney": (600, AU),
    "Australia/Melbourne": (600, AU), "Australia/Hobart": (600, AU),
    "Pacific/Auckland": (720, NZ),
    "America/St_Johns": (-210, US), "America/Halifax": (-240, US),
    "America/Puerto_Rico": (-240, None), "America/Sao_Paulo": (-180, None),
    "America/Argentina/Buenos_Aires": (-180, None), "America/Montevideo": (-180, None),
    "America/New_York": (-300, US), "America/Toronto": (-300, US), "America/Detroit": (-300, US),
    "America/Bogota": (-300, None), "America/Lima": (-300, None), "America/Panama": (-300, None),
    "America/Cancun": (-300, None), "America/Chicago": (-360, US), "America/Winnipeg": (-360, US),
    "America/Mexico_City": (-360, None), "America/Costa_Rica": (-360, None),
    "America/Denver": (-420, US), "America/Edmonton": (-420, US), "America/Phoenix": (-420, None),
    "America/Los_Angeles": (-480, US), "America/Vancouver": (-480, US),
    "America/Anchorage": (-540, US), "Pacific/Honolulu": (-600, None),
}

HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS
_EPOCH = datetime.datetime(1970, 1, 1)


def known(tz):
    return tz in ZONES


def _ms(naive):
    """Unix ms of a naive datetime read as UTC."""
    return int((naive - _EPOCH).total_seconds() * 1000)


def _sunday(year, month, n):
    """Unix ms of 00:00 UTC of the nth (1-based) Sunday of `month`; -1: the last."""
    if n < 0:
        nxt = datetime.date(year + (month == 12), month % 12 + 1, 1)
        last = nxt - datetime.timedelta(days=1)
        day = last - datetime.timedelta(days=(last.weekday() + 1) % 7)
    else:
        first = datetime.date(year, month, 1)
        day = first + datetime.timedelta(days=(6 - first.weekday()) % 7 + (n - 1) * 7)
    return _ms(datetime.datetime(day.year, day.month, day.day))


def _daylight(rule, std, ms):
    year = (_EPOCH + datetime.timedelta(milliseconds=ms + std * 60000)).year

    def local(day, hour, offset):
        return day + hour * HOUR_MS - offset * 60000

    if rule == EU:
        return _sunday(year, 3, -1) + HOUR_MS <= ms < _sunday(year, 10, -1) + HOUR_MS
    if rule == US:
        return local(_sunday(year, 3, 2), 2, std) <= ms < local(_sunday(year, 11, 1), 2, std + 60)
    if rule == AU:
        return not (local(_sunday(year, 4, 1), 3, std + 60) <= ms < local(_sunday(year, 10, 1), 2, std))
    if rule == NZ:
        return not (local(_sunday(year, 4, 1), 3, std + 60) <= ms < local(_sunday(year, 9, -1), 2, std))
    return False


def offset_minutes(tz, ms):
    """Minutes east of UTC in `tz` at Unix ms `ms`."""
    std, rule = ZONES[tz]
    return std + 60 if rule and _daylight(rule, std, ms) else std


def local_now(tz, ms):
    """The naive local datetime in `tz` at Unix ms `ms`."""
    return _EPOCH + datetime.timedelta(milliseconds=ms + offset_minutes(tz, ms) * 60000)


def today(tz, ms):
    return local_now(tz, ms).date()


def at(tz, day, minutes):
    """Unix ms of `minutes` after midnight on local `day` in `tz`."""
    naive = _ms(datetime.datetime(day.year, day.month, day.day)) + minutes * 60000
    guess = naive - offset_minutes(tz, naive) * 60000
    return naive - offset_minutes(tz, guess) * 60000


def hhmm(minutes):
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_hhmm(text):
    """`"12:30"` -> 750 minutes, or None."""
    if not isinstance(text, str):
        return None
    hours, sep, mins = text.strip().partition(":")
    if not sep or not hours.isdigit() or not mins.isdigit() or len(mins) != 2:
        return None
    h, m = int(hours), int(mins)
    if h > 23 or m > 59:
        return None
    return h * 60 + m


def parse_date(text):
    try:
        return datetime.date.fromisoformat(text.strip())
    except (ValueError, AttributeError, TypeError):
        return None


DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def long_day(day):
    """`Thursday 26 November`."""
    return f"{DAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"


def short_day(day):
    """`Thu 26 Nov`."""
    return f"{DAYS[day.weekday()][:3]} {day.day} {MONTHS[day.month - 1][:3]}"
