"""The Spyne application: one generated operation per entry of the registry.

Every operation has the same body (`Dispatcher.call`): credentials, the request's fields
as a plain dict, the operation's handler, and the `<result><err/><data/></result>` element,
written from the same kinds the WSDL is compiled from (model.py). What differs between
operations is data in operations.py.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from lxml import etree
from spyne import Application, rpc
from spyne.interface import InterfaceDocumentsBase
from spyne.interface.wsdl import Wsdl11
from spyne.service import ServiceBase

from service.api.basic_auth import basic_credentials
from service.api.node.params import Params

# OPERATIONS is re-exported: make_soap_app reads it from here when given no operations.
from service.api.node.registry import OPERATIONS as OPERATIONS
from service.api.node.registry import Operation
from service.api.soap import wire
from service.api.soap.model import STR, ElementWriter, TypeCompiler, Writer, struct
from service.api.soap.operations import ERROR, PUBLISHED, SPECS, OpSpec
from service.api.soap.protocol import Reply, VendorSoap11, too_many_elements
from service.domain.errors import DomainError, Err

log = logging.getLogger("finsms.soap")

APP_NAME = "SmsService"
CREDENTIALS = struct("Credentials", username=STR, password=STR)


class UnqualifiedDocuments(InterfaceDocumentsBase):
    """Interface documents whose schema says elementFormDefault="unqualified"."""

    def __init__(self, interface: Any) -> None:
        super().__init__(interface, wsdl11=Wsdl11(interface, element_form_default="unqualified"))


class Dispatcher:
    """Runs one SOAP request against the platform."""

    def __init__(self, platform: Any) -> None:
        self.platform = platform

    def call(self, ctx: Any, operation: Operation, write: Writer, max_elements: int) -> Reply:
        """The operation's `<result>` for this request, errors included."""
        # Counted by libxml2 before any work in Python: a getUserCredit padded with a
        # million elements costs its parse, not a walk over them.
        if wire.element_count(ctx.in_document) > max_elements:
            raise too_many_elements(max_elements)
        try:
            principal = self._authenticate(ctx)
            fields, _, _ = wire.split_credentials(wire.request_fields(ctx.in_body_doc))
            data = operation(self.platform, principal, Params(fields))
            return _reply(write, {"err": None, "data": data})
        except DomainError as error:
            if error.retry_after:
                ctx.transport.resp_headers["Retry-After"] = str(error.retry_after)
            return _reply(write, {"err": error.as_wire(), "data": None})
        except Exception:
            log.exception("SOAP %s failed", operation.soap_name)
            return _reply(
                write, {"err": DomainError(Err.ERR_INTERNAL_SERVER).as_wire(), "data": None}
            )

    def _authenticate(self, ctx: Any) -> Any:
        username, password = wire.body_credentials(ctx.in_body_doc)
        if username is None:
            username, password = wire.header_credentials(ctx.in_header_doc)
        env = ctx.transport.req_env
        if username is None:
            username, password = basic_credentials(env.get("HTTP_AUTHORIZATION"))
        return self.platform.authenticate(username, password, env.get("REMOTE_ADDR"))


def _reply(write: Writer, result: dict[str, Any]) -> Reply:
    # Written here, inside call()'s error handling: a service returning a shape its SOAP
    # type does not describe is an ERR_INTERNAL_SERVER answer, not a Spyne fault.
    holder = etree.Element("holder")
    write(holder, "result", result)
    return Reply(holder[0])


def build_application(
    platform: Any, tns: str, operations: Sequence[Operation] | None = None
) -> Application:
    """The Spyne Application serving every registry operation (or those given) that has
    a spec."""
    compiler = TypeCompiler(tns)
    writers = ElementWriter()
    dispatcher = Dispatcher(platform)
    header = compiler.extra(CREDENTIALS)
    methods: dict[str, Any] = {}
    budgets: dict[str, int] = {}
    for operation in OPERATIONS if operations is None else operations:
        spec = SPECS.get(operation.path)
        if spec is None:  # tests/unit/test_soap_operations.py fails on this
            log.warning("no SOAP spec for %s (%s)", operation.path, operation.soap_name)
            continue
        budgets[operation.soap_name] = spec.max_elements
        methods[operation.soap_name] = _method(
            operation, spec, compiler, writers, dispatcher, header
        )
    service = type("SmsSoapService", (ServiceBase,), methods)
    extras = tuple(compiler.extra(kind) for kind in PUBLISHED)
    return Application(
        [service],
        tns=tns,
        name=APP_NAME,
        in_protocol=VendorSoap11(budgets),
        out_protocol=VendorSoap11(),
        classes=extras,
        documents_container=UnqualifiedDocuments,
    )


def _method(
    operation: Operation,
    spec: OpSpec,
    compiler: TypeCompiler,
    writers: ElementWriter,
    dispatcher: Dispatcher,
    header: Any,
) -> Any:
    name = operation.soap_name
    result = struct(name[0].upper() + name[1:] + "Result", err=ERROR, data=spec.output)
    write = writers.writer(result)
    fields = (("username", STR), ("password", STR), *spec.inputs.fields)

    def handler(ctx: Any, *_args: Any) -> Reply:
        return dispatcher.call(ctx, operation, write, spec.max_elements)

    handler.__name__ = handler.__qualname__ = name
    return rpc(
        *(compiler.input(kind) for _, kind in fields),
        _args=tuple(field for field, _ in fields),
        _returns=compiler.output(result),
        _out_variable_name="result",
        _in_header=(header,),
    )(handler)
