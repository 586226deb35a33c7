"""The origins Office runs add-ins under: Office on the web and Teams frame the task pane from these, and
local mode lets state-changing requests come from them (besides the server's own origin)."""

from __future__ import annotations

import re

#: Office on the web, Microsoft 365, Teams and SharePoint hosts; each allows its subdomains.
OFFICE_HOST_SUFFIXES = (
    "officeapps.live.com",
    "office.com",
    "office365.com",
    "microsoft365.com",
    "cloud.microsoft",
    "sharepoint.com",
    "teams.microsoft.com",
)

_ORIGIN = re.compile(r"^https://([a-z0-9.-]+)(:\d+)?$", re.IGNORECASE)


def is_office_origin(origin: str) -> bool:
    """True for an https origin on one of Office's hosts (the host itself or a subdomain of it)."""
    match = _ORIGIN.match(origin)
    if match is None:
        return False
    host = match[1].lower()
    return any(host == suffix or host.endswith("." + suffix) for suffix in OFFICE_HOST_SUFFIXES)


def frame_ancestors() -> str:
    """The CSP `frame-ancestors` sources that let Office frame the task pane."""
    return " ".join(f"https://{suffix} https://*.{suffix}" for suffix in OFFICE_HOST_SUFFIXES)
