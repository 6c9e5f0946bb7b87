"""GeoReport v2's answers in JSON (the XML answers carry the same fields; xmlout.py writes them).

These describe the JSON documents for the OpenAPI document; the routes render their answers
themselves (orjson, or XML), so nothing is filtered through them at run time.
"""

from __future__ import annotations

from pydantic import BaseModel


class Endpoint(BaseModel):
    specification: str
    url: str
    changeset: str
    type: str
    formats: list[str]


class Discovery(BaseModel):
    changeset: str
    contact: str
    key_service: str
    endpoints: list[Endpoint]


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class AttributeValue(BaseModel):
    key: str
    name: str


class Attribute(BaseModel):
    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[AttributeValue]


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[Attribute]


class ServiceRequest(BaseModel):
    """A public request (README: "Open311: what the public sees")."""

    service_request_id: str
    status: str
    status_notes: str | None
    service_name: str | None
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str | None
    updated_datetime: str | None
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


class RequestCreated(BaseModel):
    service_request_id: str
    token: str
    service_notice: str | None
    account_id: str | None


class RequestToken(BaseModel):
    service_request_id: str
    token: str


class RequestUpdate(BaseModel):
    """One of FixMyStreet's service request updates (a public step of a request)."""

    update_id: str
    service_request_id: str
    status: str
    updated_datetime: str
    description: str
    media_url: str | None
    external_status_code: str


class UpdateCreated(BaseModel):
    update_id: str


class Error(BaseModel):
    """One entry of GeoReport's error list."""

    code: int
    description: str
