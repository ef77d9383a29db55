"""Cut the subset of Microsoft Graph v1.0's CSDL that pamtui's entra provider uses.

Run from a checkout of microsoftgraph/msgraph-metadata (see README.md)::

    python tests/data/graph-v1.0/extract.py schemas/v1.0-Prod.csdl > tests/data/graph-v1.0/subset.csdl

The elements are copied as Microsoft publishes them (no edits): the entity
and complex types pamtui reads, the bound actions it calls and the entity
sets and singleton it addresses. Nothing here is written by hand.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

EDM = "http://docs.oasis-open.org/odata/ns/edm"
EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
ENTITY_TYPES = (
    "entity",
    "directoryObject",
    "user",
    "application",
    "servicePrincipal",
    "directoryRole",
    "oAuth2PermissionGrant",
    "appRoleAssignment",
    "auditLogRoot",
    "signIn",
    "directoryAudit",
)
COMPLEX_TYPES = (
    "passwordCredential",
    "keyCredential",
    "signInActivity",
    "signInStatus",
    "auditActivityInitiator",
    "userIdentity",
    "appIdentity",
    "identity",
)
ACTIONS = ("revokeSignInSessions", "removePassword", "removeKey")
BINDINGS = ("graph.user", "graph.application", "graph.servicePrincipal")
CONTAINER = (
    "users",
    "applications",
    "servicePrincipals",
    "directoryRoles",
    "oauth2PermissionGrants",
    "auditLogs",
)


def main(path: str) -> None:
    ET.register_namespace("edmx", EDMX)
    ET.register_namespace("", EDM)
    root = ET.parse(path).getroot()
    schema = next(
        s for s in root.iter(f"{{{EDM}}}Schema") if s.get("Namespace") == "microsoft.graph"
    )
    out_root = ET.Element(f"{{{EDMX}}}Edmx", {"Version": "4.0"})
    services = ET.SubElement(out_root, f"{{{EDMX}}}DataServices")
    out = ET.SubElement(
        services, f"{{{EDM}}}Schema", {"Namespace": "microsoft.graph", "Alias": "graph"}
    )
    for element in schema:
        tag = element.tag.split("}")[1]
        name = element.get("Name")
        if (tag == "EntityType" and name in ENTITY_TYPES) or (
            tag == "ComplexType" and name in COMPLEX_TYPES
        ):
            out.append(element)
        elif tag == "Action" and name in ACTIONS:
            binding = element.find(f"{{{EDM}}}Parameter[@Name='bindingParameter']")
            if binding is not None and binding.get("Type") in BINDINGS:
                out.append(element)
        elif tag == "EntityContainer":
            container = ET.SubElement(out, element.tag, dict(element.attrib))
            for child in element:
                if child.get("Name") in CONTAINER:
                    container.append(child)
    ET.indent(out_root)
    sys.stdout.write('<?xml version="1.0" encoding="utf-8"?>\n')
    sys.stdout.write(ET.tostring(out_root, encoding="unicode") + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
