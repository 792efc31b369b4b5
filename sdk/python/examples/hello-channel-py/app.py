"""hello-channel-py: the hello channel in Python.

POST /c/<team>/hello-channel-py/ with a JSON body {"title": ..., "description": ...,
"name": ..., "email": ...} opens a ticket and answers {"ticket": <number>}. GET
answers a usage line. With the secret `signing_key` set, a POST must carry
X-Signature: sha256=<hex HMAC-SHA256 of the body>; the host checks it with the
key, which never enters this plugin.
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.channel_handler import HttpRequest, HttpResponse, Info
from wit_world.imports import secrets, tickets
from wit_world.imports.types import (
    ContactInfo,
    Email,
    NewTicket,
    PluginError_InvalidSettings,
    PointKind,
)


def answer(status: int, body: dict) -> HttpResponse:
    """A JSON response."""
    return HttpResponse(status, [("content-type", "application/json")], json.dumps(body).encode())


def header(request: HttpRequest, name: str):
    """The first header of this name, or None."""
    return next((v for (k, v) in request.headers if k.lower() == name), None)


def ticket_for(settings: dict, body: bytes) -> NewTicket:
    """The ticket a submission opens; ValueError says what is wrong with it."""
    try:
        submission = json.loads(body)
    except ValueError as e:
        raise ValueError(f"the body is not JSON: {e}")
    if not isinstance(submission, dict):
        raise ValueError("the body must be a JSON object")
    title = str(submission.get("title", "")).strip()
    if not title:
        raise ValueError("title: must not be empty")
    name, email = submission.get("name"), submission.get("email")
    contact = None
    if name or email:
        emails = [Email(str(email), PointKind.OTHER)] if email else []
        contact = ContactInfo(str(name) if name else None, emails, [])
    return NewTicket(
        settings.get("title_prefix", "") + title,
        str(submission.get("description", "")),
        None,
        contact,
        None,
    )


class ChannelHandler(exports.ChannelHandler):
    def describe(self) -> Info:
        return Info("Hello channel (Python)", "Turns a POSTed JSON body into a ticket", "")

    def validate_settings(self, settings: str) -> None:
        parsed = json.loads(settings or "{}")
        if not isinstance(parsed.get("title_prefix", ""), str):
            raise Err(PluginError_InvalidSettings("title_prefix: must be text"))

    def handle_http(self, settings: str, request: HttpRequest) -> HttpResponse:
        if request.method == "GET":
            return HttpResponse(200, [("content-type", "text/plain")], b"POST a JSON body with a title.\n")
        if request.method != "POST":
            return HttpResponse(405, [("allow", "GET, POST")], b"use GET or POST\n")
        if secrets.is_set("signing_key"):
            signature = header(request, "x-signature") or ""
            try:
                mac = bytes.fromhex(signature.removeprefix("sha256="))
            except ValueError:
                mac = b""
            if not secrets.verify_hmac_sha256("signing_key", request.body, mac):
                return answer(401, {"error": "X-Signature is missing or does not match the body"})
        try:
            ticket = ticket_for(json.loads(settings or "{}"), request.body)
        except ValueError as e:
            return answer(422, {"error": str(e)})
        created = tickets.create(ticket)
        return answer(201, {"ticket": created.id, "title": created.title})
