"""The one table of domain errors: name, SMS code, HTTP status and Turkish message.

Every protocol maps these once: the JSON `err` object, the SOAP `<err>` element and the
FinSMS HTTP status all read from this table, so a code never means two things.
Names without a number in the vendor's table get codes from SMS60 up (documented in the
README); the vendor's numbers stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class ErrorSpec:
    """One row of the error table."""

    sms_code: str
    status: int
    message: str


class Err(Enum):
    """Every domain error, by its wire name."""

    # fmt: off
    # The vendor's numbered codes (Node API v1.8.3).
    ERR_BAD_REQUEST = ErrorSpec("SMS00", 400, "Hatalı istek: koşullar sağlanmadı veya istek geçersiz.")
    ERR_USER_NOT_AUTHORIZED = ErrorSpec("SMS01", 403, "Kullanıcının bu işlem için yetkisi yok.")
    ERR_BLACKLIST_RECORD_ALREADY_EXISTS = ErrorSpec("SMS02", 409, "Kayıt zaten genel kara listede.")
    ERR_PARENT_USER_NOT_FOUND = ErrorSpec("SMS03", 404, "Üst kullanıcı bulunamadı.")
    ERR_USER_ALREADY_EXISTS = ErrorSpec("SMS04", 409, "Bu kullanıcı adıyla bir kullanıcı zaten var.")
    ERR_INVALID_PRICING_PLAN = ErrorSpec("SMS05", 400, "Geçersiz fiyatlandırma planı.")
    ERR_SMS_PKG_NOT_FOUND = ErrorSpec("SMS06", 404, "SMS paketi bulunamadı.")
    ERR_SMS_PKG_NOT_CHANGEABLE = ErrorSpec("SMS07", 409, "Paket durumu değiştirilemez.")
    ERR_INVALID_SMS_SENDING_DATE = ErrorSpec("SMS08", 400, "Gönderim tarihi geçersiz veya geçmişte.")
    ERR_CONTACT_GROUP_ALREADY_EXISTS = ErrorSpec("SMS09", 409, "Rehber grubu zaten var.")
    ERR_PARENT_CONTACT_GROUP_NOT_FOUND = ErrorSpec("SMS10", 404, "Rehber grubu bulunamadı.")
    ERR_PARENT_CONTACT_GROUP_NOT_EMPTY = ErrorSpec(
        "SMS11", 409, "Hedef grupta kişiler var, üst grup olamaz."
    )
    ERR_CONTACT_ALREADY_EXISTS = ErrorSpec("SMS12", 409, "Bu GSM numarasıyla bir kişi zaten var.")
    ERR_CONTACT_IMPORT_EXISTS = ErrorSpec("SMS13", 409, "İşlenmemiş bir içe aktarma isteği var.")
    ERR_FILE_NOT_FOUND = ErrorSpec("SMS14", 404, "Dosya bulunamadı.")
    ERR_CONTACT_IMPORT_FAILED = ErrorSpec("SMS15", 400, "Kişi içe aktarma başarısız oldu.")
    ERR_USER_NOT_FOUND = ErrorSpec("SMS16", 404, "Kullanıcı bulunamadı.")
    ERR_CREDIT_PLAN_NOT_FOUND = ErrorSpec("SMS17", 404, "Kredi planı bulunamadı.")
    ERR_USER_CREDIT_REQUIRED = ErrorSpec("SMS18", 400, "Yetersiz kredi.")
    ERR_PROMOTION_NOT_FOUND = ErrorSpec("SMS19", 404, "Promosyon bulunamadı.")
    ERR_ALLOWANCE_ALREADY_EXISTS = ErrorSpec("SMS20", 409, "Ödenek zaten oluşturulmuş.")
    ERR_ALLOWANCE_NOT_PERMITTED = ErrorSpec("SMS21", 400, "Ödenek koşulları sağlanmadı.")
    ERR_ALLOWANCE_NOT_APPLICABLE = ErrorSpec("SMS22", 400, "Ödenek bu kullanıcıya uygulanamaz.")
    ERR_SPAM_FILTER_ALREADY_EXISTS = ErrorSpec("SMS23", 409, "Spam filtresi zaten var.")
    ERR_MO_ALREADY_EXISTS = ErrorSpec("SMS24", 409, "MO kısa numarası zaten var.")
    ERR_MO_KEYWORD_ALREADY_EXISTS = ErrorSpec("SMS25", 409, "MO anahtar kelimesi zaten var.")
    ERR_MO_NOT_FOUND = ErrorSpec("SMS26", 404, "MO kısa numarası bulunamadı.")
    ERR_SENDER_ALREADY_EXISTS = ErrorSpec("SMS27", 409, "Bu gönderici başlığı zaten var.")
    ERR_PARENT_USER_CREDIT_REQUIRED = ErrorSpec("SMS28", 400, "Üst kullanıcının kredisi yetersiz.")
    ERR_USER_CREDIT_DECREASING_LIMITED = ErrorSpec(
        "SMS29", 400, "Kullanıcının kredisinin azaltılması sınırlı."
    )
    ERR_USER_IYS_SETTINGS_NOT_FOUND = ErrorSpec("SMS30", 404, "Kullanıcının İYS ayarları yok.")
    ERR_INVALID_DATE_RANGE = ErrorSpec("SMS31", 400, "Geçersiz tarih aralığı.")
    ERR_API_USER_ALREADY_EXISTS = ErrorSpec("SMS32", 409, "Bu adla bir API kullanıcısı zaten var.")
    ERR_CREDIT_PLAN_UNIT_PRICE_LIMIT = ErrorSpec(
        "SMS33", 400, "Birim fiyat kullanıcıya atanan fiyatın altında."
    )
    ERR_SMS_PKG_CUSTOM_ID_DUPLICATION = ErrorSpec(
        "SMS42", 409, "Bu customID ile bir paket zaten var."
    )
    ERR_REQUEST_PARAM_LIMIT = ErrorSpec("SMS43", 400, "Bir parametrede izin verilenden fazla öğe var.")
    ERR_SMS_SENDING_TIME_LIMIT = ErrorSpec("SMS44", 403, "Sistem genelinde gönderim saati kısıtı var.")
    ERR_MULTI_REQUEST_NOT_PERMITTED = ErrorSpec(
        "SMS50", 429, "Bu işlem için eşzamanlı istek yapılamaz; çalışanın bitmesini bekleyin."
    )
    ERR_SYSTEM_MAINTENANCE = ErrorSpec("SMS99", 503, "Sistem bakımda, lütfen sonra tekrar deneyin.")

    # Names real clients use that the vendor's table leaves unnumbered: our codes, SMS60+.
    ERR_UNAUTHORIZED_REQUEST = ErrorSpec("SMS60", 401, "Kullanıcı adı veya şifre hatalı.")
    ERR_INVALID_PARAM = ErrorSpec("SMS61", 400, "Geçersiz parametre.")
    ERR_INVALID_SMS_SENDER = ErrorSpec("SMS62", 400, "Gönderici başlığı kullanılamaz.")
    ERR_EMPTY_SMS_PACKAGE = ErrorSpec("SMS63", 400, "Pakette geçerli numara yok.")
    ERR_SMS_PKG_DUPLICATION = ErrorSpec(
        "SMS64", 409, "Aynı mesaj son 30 dakika içinde aynı numaralara zaten gönderildi."
    )
    ERR_USER_BRAND_CODE_NOT_FOUND = ErrorSpec("SMS65", 404, "İYS marka kodu bulunamadı.")
    ERR_SMS_PKG_CREATING_FAILED = ErrorSpec("SMS66", 500, "SMS paketi oluşturulamadı.")
    ERR_NOT_FOUND = ErrorSpec("SMS67", 404, "İstenen adres bulunamadı.")
    ERR_INTERNAL_SERVER = ErrorSpec("SMS68", 500, "Sunucu hatası.")
    ERR_DAILY_REQUEST_LIMIT = ErrorSpec("SMS69", 429, "Günlük sorgu sınırı aşıldı.")
    ERR_TOO_MANY_REQUESTS = ErrorSpec("SMS70", 429, "Çok fazla başarısız deneme; lütfen bekleyin.")
    ERR_REQUEST_TOO_LARGE = ErrorSpec("SMS71", 413, "İstek gövdesi çok büyük.")
    ERR_METHOD_NOT_ALLOWED = ErrorSpec("SMS72", 405, "Bu adres bu HTTP yöntemini desteklemiyor.")

    # Contacts (#11): codes from SMS80 up, apart from the other issues' additions.
    ERR_CONTACT_NOT_FOUND = ErrorSpec("SMS80", 404, "Rehber kişisi bulunamadı.")

    # FinSMS v1 facade and its API keys (#12): codes from SMS90 up.
    ERR_API_KEY_NOT_FOUND = ErrorSpec("SMS90", 404, "API anahtarı bulunamadı.")
    ERR_RATE_LIMITED = ErrorSpec("SMS91", 429, "İstek sınırı aşıldı; lütfen bekleyin.")

    # fmt: on

    @property
    def sms_code(self) -> str:
        """The SMSnn code of this error."""
        return self.value.sms_code

    @property
    def status(self) -> int:
        """The HTTP status this error travels with."""
        return self.value.status

    @property
    def message(self) -> str:
        """The default Turkish message."""
        return self.value.message


class DomainError(Exception):
    """A rule of the domain said no; carries one row of the error table."""

    def __init__(
        self,
        err: Err,
        detail: str | None = None,
        *,
        field: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.err = err
        self.detail = detail
        self.field = field
        self.retry_after = retry_after
        super().__init__(f"{err.name}: {detail or err.message}")

    @property
    def message(self) -> str:
        """The Turkish message with the detail, when there is one."""
        return f"{self.err.message} {self.detail}" if self.detail else self.err.message

    def as_wire(self) -> dict[str, object]:
        """The protocol-neutral `err` object: status, code, message, smsCode, field."""
        return {
            "status": self.err.status,
            "code": self.err.name,
            "message": self.message,
            "smsCode": self.err.sms_code,
            "field": self.field,
        }


def invalid(field: str, detail: str) -> DomainError:
    """ERR_INVALID_PARAM naming the field that was wrong."""
    return DomainError(Err.ERR_INVALID_PARAM, f"{field}: {detail}", field=field)
