"""What each Node API function looks like over SOAP: its input fields and its data type.

This table is the only place to touch when service.api.node.registry gains a function:
add one `OpSpec` under the function's JSON path (its SOAP name comes from the registry).
A test fails for every registry entry without a spec here.

Field names are the JSON field names (the SOAP adapter hands the services the same
plain dict the JSON API does); every operation also takes `username` and `password`.
Inputs only shape the WSDL: requests are read from the XML itself (wire.py), so unknown
fields real clients send are passed on like over JSON, and the services coerce values.

Adding a function, e.g. /contact/create registered as `createContact`:

    CONTACT = struct("Contact", uuid=STR, gsm=STR, details=OBJECT,
                     groups=list_of(STR, "GroupUuidList"))
    SPECS["contact/create"] = op(CONTACT, gsm=STR, details=OBJECT,
                                 groupUUIDs=list_of(STR, "GroupUuidInput"))

Kinds: INT (xs:int), LONG (xs:long, ids and counters), STR, BOOL, ANY (xs:anyType item),
OBJECT (free-form keys, e.g. custom contact details), `struct(...)`, `list_of(...)`.
Type names are global in the schema: give every struct and list its own name. Output
structs list every key the JSON API returns (tests/e2e/soap/test_cross_protocol.py
checks); then run scripts/export_wsdl.py and add the call to tests/e2e/soap/test_zeep.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from service.api.soap.model import ANY, BOOL, INT, LONG, OBJECT, STR, Struct, list_of, struct
from service.api.soap.protocol import MAX_ELEMENTS

# Elements a request may hold, the envelope and any header included. The largest
# request of an operation without recipient lists is a filter of 1,000 ids and 1,000
# customIDs (LIST_FILTER_MAX each): about 2,030 elements. Only sendSms, with its
# 100,000-recipient packages, needs protocol.MAX_ELEMENTS.
SMALL_REQUEST = 16_384


@dataclass(frozen=True)
class OpSpec:
    """The request fields, the `data` type and the element budget of one operation."""

    inputs: Struct
    output: Struct
    max_elements: int = SMALL_REQUEST


def op(output: Struct, **inputs: object) -> OpSpec:
    """An operation returning `output` and taking `inputs` (besides the credentials)."""
    return OpSpec(struct("_inputs", **inputs), output)


# --- request types --------------------------------------------------------------------
PERIODIC = struct("PeriodicSettings", periodType=INT, amount=INT, interval=INT)
PUSH = struct("PushSettings", url=STR)
# N-N recipients. `<numbers>` items are xs:anyType so that generated clients can send a
# plain number (1-N) or this struct (N-N) in the same list; the struct is published so
# that they can name it in xsi:type (see soap-notes.md: string or struct items each break
# one of the two forms in PHP).
# `cfs` fills the content's placeholders for that number (FIRST_NAME…, see customFields).
NUMBER_MESSAGE = struct("NumberMessage", nr=STR, msg=STR, xid=STR, cfs=OBJECT)
NUMBERS = list_of(ANY, "NumberList")
IDS = list_of(LONG, "IdList")
CUSTOM_IDS = list_of(STR, "CustomIdList")
PAGING = {"pageIndex": INT, "pageSize": INT}

# /sms/create-kvkk's one recipient: the number and the names its text is filled with.
KVKK_NUMBER = struct("KvkkNumber", nr=STR, cfs=struct("KvkkFields", FIRST_NAME=STR, LAST_NAME=STR))

PUBLISHED = (NUMBER_MESSAGE,)  # request types no operation field names directly

# --- response types -------------------------------------------------------------------
ERROR = struct("Error", status=INT, code=STR, message=STR, smsCode=STR, field=STR)
STATS = struct("ListStats", totalRecord=LONG)

PACKAGE_ID = struct("PackageId", pkgID=LONG)
STATUS = struct("OperationStatus", status=INT)
CREDIT = struct("UserCredit", credit=LONG)

PACKAGE = struct(
    "SmsPackage",
    id=LONG,
    customID=STR,
    type=INT,
    sendingType=INT,
    uuid=STR,
    error=STR,
    state=INT,
    title=STR,
    content=STR,
    senders=list_of(STR, "SenderTitleList"),
    encoding=INT,
    validity=INT,
    statistics=struct(
        "PackageStatistics",
        total=LONG,
        credit=LONG,
        rCount=LONG,
        delivered=LONG,
        undelivered=LONG,
        invalid=LONG,
    ),
    isScheduled=INT,
    sendingDate=STR,
    processingDate=STR,
    periodicSettings=struct("PackagePeriodicSettings", periodType=INT, interval=INT, amount=INT),
    nextRunDate=STR,
    runOf=LONG,
    runNo=INT,
    pushSettings=struct("PackagePushSettings", url=STR),
    commercial=BOOL,
    processInfo=struct(
        "ProcessInfo",
        create=struct("ProcessStep", date=STR),
        update=struct("ProcessStep", date=STR),
    ),
)
PACKAGE_LIST = struct("SmsPackageList", stats=STATS, list=list_of(PACKAGE, "SmsPackageArray"))

ITEM = struct(
    "SmsPackageItem",
    id=STR,
    msg=STR,
    xid=STR,
    error=STR,
    credit=INT,
    state=INT,
    sender=STR,
    target=STR,
    operator=INT,
    setState=INT,
    sendingDate=STR,
    deliveryDate=STR,
    processingDate=STR,
)
ITEM_LIST = struct("SmsPackageItemList", stats=STATS, list=list_of(ITEM, "SmsPackageItemArray"))

SENDER = struct("SmsSender", uuid=STR, status=INT, title=STR)
SENDER_LIST = struct("SmsSenderList", stats=STATS, list=list_of(SENDER, "SmsSenderArray"))

GATEWAY = struct("SmsGateway", uuid=STR, senders=list_of(STR, "GatewaySenderList"))
GATEWAY_LIST = struct("SmsGatewayList", stats=STATS, list=list_of(GATEWAY, "SmsGatewayArray"))

SUMMARY = struct(
    "SmsSummary",
    total=LONG,
    delivered=LONG,
    undelivered=LONG,
    pending=LONG,
    rCount=LONG,
    credit=LONG,
)

INQUIRY = struct(
    "NumberInquiryRecord",
    userUUID=STR,
    username=STR,
    sender=STR,
    encoding=INT,
    validity=INT,
    sendingDate=STR,
    pkgID=LONG,
    pkgType=INT,
    state=INT,
    msg=STR,
    operator=INT,
    deliveryDate=STR,
)
INQUIRY_LIST = struct("NumberInquiryList", stats=STATS, list=list_of(INQUIRY, "NumberInquiryArray"))

MO_REQUEST = struct(
    "MoRequest",
    uuid=STR,
    gsm=STR,
    msg=STR,
    state=INT,
    keyword=STR,
    shortNr=STR,
    exitType=INT,
    date=STR,
    userInfo=struct("MoUserInfo", uuid=STR, username=STR),
    processInfo=struct(
        "MoProcessInfo",
        create=struct("ProcessStep", date=STR),
        update=struct("ProcessStep", date=STR),
    ),
)
MO_REQUEST_LIST = struct("MoRequestList", stats=STATS, list=list_of(MO_REQUEST, "MoRequestArray"))
MO_FILTER = {"keyword": STR, "userUUID": STR, "startDate": STR, "finishDate": STR, **PAGING}
# --- contacts (#11) ----------------------------------------------------------------------
GROUP_REF = struct("ContactGroupRef", uuid=STR, title=STR)
CONTACT = struct(
    "Contact",
    uuid=STR,
    firstName=STR,
    lastName=STR,
    gsm=STR,
    details=OBJECT,
    groups=list_of(GROUP_REF, "ContactGroupRefList"),
    isInBlacklist=INT,
    status=INT,
    exitType=INT,
    iys=struct("ContactIys", st=INT, c=INT, src=INT),
    queryCall=BOOL,
    queryEmail=BOOL,
)
CONTACT_LIST = struct("ContactList", stats=STATS, list=list_of(CONTACT, "ContactArray"))
GROUP = struct(
    "ContactGroup",
    uuid=STR,
    title=STR,
    stats=struct("ContactGroupStats", contactCount=LONG),
    isParent=INT,
    isShared=INT,
    parentInfo=struct("ContactGroupParent", uuid=STR, title=STR),
)
GROUP_LIST = struct("ContactGroupList", stats=STATS, list=list_of(GROUP, "ContactGroupArray"))
BLACKLIST_STATUS = struct("BlacklistStatus", status=INT, invalids=list_of(STR, "InvalidNumberList"))
IYS_INPUT = struct("ContactIysInput", c=INT, src=INT, send=BOOL)
CONTACT_INPUTS: dict[str, object] = {
    "gsm": STR,
    "firstName": STR,
    "lastName": STR,
    "groupUUIDs": list_of(STR, "GroupUuidInputList"),
    "isInBlacklist": BOOL,
    "details": OBJECT,
    "iys": IYS_INPUT,
    "queryCall": BOOL,
    "queryEmail": BOOL,
}
UUIDS = list_of(STR, "UuidInputList")
GSMS = list_of(STR, "GsmInputList")
IMPORT = struct(
    "ContactImport",
    uuid=STR,
    state=STR,
    stats=struct(
        "ContactImportStats", total=LONG, created=LONG, updated=LONG, unchanged=LONG, invalid=LONG
    ),
    invalidRows=list_of(struct("ContactImportRowError", line=LONG, reason=STR), "InvalidRowList"),
    error=STR,
    createDate=STR,
    startDate=STR,
    finishDate=STR,
)
IMPORT_LIST = struct("ContactImportList", stats=STATS, list=list_of(IMPORT, "ContactImportArray"))
CONTACT_SPECS: dict[str, OpSpec] = {
    "contact/create": op(CONTACT, uuid=STR, **CONTACT_INPUTS),
    "contact/update": op(STATUS, uuid=STR, **CONTACT_INPUTS),
    "contact/delete": op(STATUS, uuids=UUIDS, permanent=INT, groupUUID=STR),
    "contact/list": op(
        CONTACT_LIST, status=INT, iysState=INT, exitType=STR, groupUUID=STR, **PAGING
    ),
    "contact/create-group": op(GROUP, uuid=STR, title=STR, parentUUID=STR, gsms=GSMS),
    "contact/update-group": op(STATUS, uuid=STR, title=STR, parentUUID=STR, gsms=GSMS),
    "contact/delete-group": op(STATUS, uuid=STR, uuids=UUIDS, includeContacts=BOOL),
    "contact/list-group": op(GROUP_LIST, keyword=STR, parentUUID=STR, **PAGING),
    "contact/set-blacklist": op(
        BLACKLIST_STATUS, status=BOOL, uuids=UUIDS, gsms=GSMS, returnInvalids=BOOL
    ),
    "contact/import": op(
        STATUS,
        csvData=STR,
        columns=list_of(STR, "ImportColumnList"),
        overwrite=BOOL,
        isInBlacklist=BOOL,
        groupUUIDs=list_of(STR, "ImportGroupUuidList"),
    ),
    "contact/import-status": op(IMPORT_LIST),
}

# --- the operations, by JSON path -----------------------------------------------------
SPECS: dict[str, OpSpec] = {
    "sms/create-otp": op(
        PACKAGE_ID,
        number=STR,
        sender=STR,
        content=STR,
        encoding=INT,
        validity=INT,
        pushSettings=PUSH,
        commercial=BOOL,
        customID=STR,
        trustDate=STR,
    ),
    "sms/create": replace(
        op(
            PACKAGE_ID,
            type=INT,
            sendingType=INT,
            title=STR,
            content=STR,
            number=STR,
            numbers=NUMBERS,
            encoding=INT,
            sender=STR,
            periodicSettings=PERIODIC,
            sendingDate=STR,
            validity=INT,
            pushSettings=PUSH,
            commercial=BOOL,
            customID=STR,
            # customFields and groupUUIDs are read too (wire.py reads the XML itself) but
            # left out of the WSDL: a new parameter changes the signature of the stubs
            # wsimport generates (wrapper style), and a Java client that regenerates them
            # would no longer compile.
        ),
        max_elements=MAX_ELEMENTS,
    ),
    "sms/create-kvkk": op(
        PACKAGE_ID,
        number=KVKK_NUMBER,
        sender=STR,
        content=STR,
        encoding=INT,
        validity=INT,
        pushSettings=PUSH,
    ),
    "sms/list": op(
        PACKAGE_LIST,
        ids=IDS,
        customIDs=CUSTOM_IDS,
        keyword=STR,
        sender=STR,
        status=INT,
        startDate=STR,
        finishDate=STR,
        **PAGING,
    ),
    "sms/list-item": op(
        ITEM_LIST, pkgID=LONG, uuid=STR, customID=STR, target=STR, operator=INT, state=INT, **PAGING
    ),
    "sms/list-sender": op(SENDER_LIST, keyword=STR, status=INT, **PAGING),
    "sms/list-gateway": op(GATEWAY_LIST),
    "sms/cancel": op(STATUS, id=LONG, uuid=STR, customID=STR),
    "sms/recreate": op(PACKAGE_ID, id=LONG, uuid=STR, title=STR, includeNewNumbers=BOOL),
    "sms/summary": op(SUMMARY, startDate=STR, finishDate=STR),
    "sms/inquiry-number": op(
        INQUIRY_LIST, gsm=STR, sender=STR, startDate=STR, finishDate=STR, **PAGING
    ),
    "user/credit": op(CREDIT),
    "mo/list-request": op(MO_REQUEST_LIST, **MO_FILTER),
    "sms/get-mo": op(MO_REQUEST_LIST, **MO_FILTER),
    **CONTACT_SPECS,
}
