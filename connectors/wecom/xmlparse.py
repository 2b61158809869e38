"""Safe parsing of WeCom's callback XML (the outer envelope and the decrypted message).

defusedxml refuses any DTD, entity declaration or external reference before expanding
anything, so a billion-laughs body costs nothing. wechatpy's own parser (xmltodict) never
sees untrusted bytes.
"""
from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from core.errors import BadRequest

Fields = dict[str, object]   # tag -> text, or a nested Fields for elements with children


MAX_DEPTH = 8     # WeCom's messages nest two or three levels; deeper is not WeCom's


def _fields(element: Element, depth: int = 0) -> Fields:
    if depth > MAX_DEPTH:
        raise BadRequest("XML nested too deep")
    out: Fields = {}
    for child in element:
        if child.tag in out:
            # WeCom never repeats a top-level field; a second <Encrypt> would make the
            # signed value ambiguous.
            raise BadRequest(f"duplicate XML element <{child.tag}>")
        out[child.tag] = _fields(child, depth + 1) if len(child) else (child.text or "")
    return out


def parse_xml(data: bytes | str) -> Fields:
    """The children of the `<xml>` root as a dict; BadRequest for anything else."""
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise BadRequest("XML with a DTD or entities is refused") from None
    except (ParseError, ValueError, TypeError):
        raise BadRequest("malformed XML") from None
    if root.tag != "xml":
        raise BadRequest("XML root is not <xml>")
    return _fields(root)


def text(fields: Fields, name: str) -> str:
    """A scalar field's text, or "" when absent or nested."""
    value = fields.get(name)
    return value if isinstance(value, str) else ""
