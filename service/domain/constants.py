"""Every constant table of the Node API v1.8.3 specification ("Sabitler"), as enums.

Values marked (reconstructed) in shared/spec/node-api.md are kept here and nowhere else,
so a better reading of the vendor's document changes one line.
"""

from __future__ import annotations

from enum import IntEnum


class Operator(IntEnum):
    """Mobile operator of a number (Operatör)."""

    TURKCELL = 0
    VODAFONE = 1
    TURKTELEKOM = 2
    NETGSM = 3


class SmsType(IntEnum):
    """SMS type (SMS Tipi)."""

    OTP = 0
    NORMAL = 1
    TC_IDENTITY = 2


class SendingType(IntEnum):
    """Sending type (Gönderim Türleri)."""

    SINGLE = 0
    ONE_TO_MANY = 1
    MANY_TO_MANY = 2


class Encoding(IntEnum):
    """Character encoding (Karakter Kodlaması)."""

    DEFAULT = 0  # GSM 03.38 7-bit default alphabet
    TURKISH = 1  # GSM 7-bit with the Turkish national language single shift table
    UNICODE = 2  # "UTF-8" in the vendor's table; sent as UCS-2


class PeriodType(IntEnum):
    """Period type (Periyod Tipi)."""

    ONE_TIME = 0
    DAILY = 1
    WEEKLY = 2
    MONTHLY = 3
    YEARLY = 4


class PackageState(IntEnum):
    """Package states (Paket Durumları)."""

    CANCELLED = -4
    SENDING_FAILED = -3
    CREATION_FAILED = -2
    REJECTED = -1
    SAVING = 0
    WAITING = 1
    QUEUEING = 2
    SENDING = 3
    SENT = 4
    PARTLY_REPORTED = 5
    COMPLETED = 6


class ItemState(IntEnum):
    """Package item states (Paket Öğesi Durumları); one item is one recipient."""

    CANCELLED = -2
    REJECTED = -1
    WAITING = 0
    SENDING = 1
    SENT = 2
    DELIVERED = 3
    UNDELIVERED = 4
    TIMED_OUT = 5


class SenderState(IntEnum):
    """Alphanumeric sender states (Alfanumerik Başlık Durumları)."""

    WAITING = 0
    APPROVED = 1
    REJECTED = 2
    BANNED = 3


class ReportFilter(IntEnum):
    """Package report status filters for /sms/list `status` (reconstructed order)."""

    ALL = 0
    IN_QUEUE = 1
    IN_PROGRESS = 2
    SCHEDULED = 3
    PERIODIC = 4
    COMPLETED = 5
    CANCELLED = 6
    FAILED = 7


class ContactFilter(IntEnum):
    """Contact filters for /contact/list `status` (reconstructed)."""

    ALL = 0
    WHITE_LIST = 1
    BLACK_LIST = 2
    INVALID_NUMBER = 3


class IysState(IntEnum):
    """İYS states (reconstructed)."""

    REJECTED = -2
    WAITING_SYNC = -1
    PROCESSING = 0
    QUEUED = 1
    ACCEPTED = 2
    UNDEFINED = 3


class IysRecipientType(IntEnum):
    """İYS recipient types."""

    INDIVIDUAL = 0
    MERCHANT = 1


class IysSource(IntEnum):
    """İYS source types: where a consent came from."""

    HS_2015 = 0
    HS_KARAR = 1
    HS_FIZIKSEL_ORTAM = 2
    HS_ISLAK_IMZA = 3
    HS_ETKINLIK = 4
    HS_ATM = 5
    HS_EORTAM = 6
    HS_WEB = 7
    HS_MOBIL = 8
    HS_MESAJ = 9
    HS_EPOSTA = 10
    HS_CAGRI_MERKEZI = 11
    HS_SOSYAL_MEDYA = 12


class MoState(IntEnum):
    """MO (opt-out by SMS) request states."""

    FAILED = -2
    NO_MATCH = -1
    WAITING = 0
    PROCESSING = 1
    COMPLETED = 2


class ExitType(IntEnum):
    """How a number left the sending list (`exitType`); the spec names MO and WEB and
    gives no values: these are ours (none is 0, so a missing exit type is never mistaken
    for one). WEB: through the API or the panel; MO: an opt-out SMS to a short number."""

    MO = 1
    WEB = 2


class UserType(IntEnum):
    """User types (Kullanıcı Tipleri)."""

    RESELLER = 1
    SUB_RESELLER = 2
    STANDARD = 3
    SUB_USER = 4


class CustomerType(IntEnum):
    """Customer types (Müşteri Tipleri)."""

    CORPORATE = 0
    INDIVIDUAL = 1


# Validity (Geçerlilik Süresi) in minutes: (min, max, default). OTP default reconstructed.
OTP_VALIDITY = (3, 6, 6)
NORMAL_VALIDITY = (60, 1440, 1440)

# An item with no report is settled as timed out this long after its validity ends.
REPORT_GRACE_MINUTES = 60

PAGE_SIZE_MIN, PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT = 10, 1000, 100
CUSTOM_ID_MAX = 100
TITLE_MAX = 50
DUPLICATE_WINDOW_MINUTES = 30
INQUIRY_DEFAULT_DAYS = 30
INQUIRY_MAX_DAYS = 92  # "up to 3 months"
SPLIT_AMOUNT_STEP = 1000
